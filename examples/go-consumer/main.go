// Command go-consumer is an example subscriber to sentio's results, for platforms to copy: a
// durable JetStream consumer on the results stream that validates every message against the
// published JSON schema (wire/schema/result.v1.json), handles utterance results and call
// summaries, and acks each message only after handling it, so that nothing is lost when the
// consumer stops or crashes.
//
//	go run ./examples/go-consumer --nats nats://sentio-host:4222 --nkey subscriber.nk --durable my-platform
//
// It prints one line per message and stops on SIGINT or SIGTERM (or after --summaries call
// summaries).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// result is the part of an utterance result this example uses (see the schema for all fields).
type result struct {
	CallID      string             `json:"call_id"`
	UtteranceID string             `json:"utterance_id"`
	Role        string             `json:"role"`
	StartMS     int64              `json:"start_ms"`
	EndMS       int64              `json:"end_ms"`
	Language    string             `json:"language"`
	Supported   bool               `json:"language_supported"`
	Label       string             `json:"label"`
	Scores      map[string]float64 `json:"scores"`
}

// summary is the part of a call summary this example uses.
type summary struct {
	CallID     string         `json:"call_id"`
	Utterances int            `json:"utterances"`
	DurationMS int64          `json:"duration_ms"`
	Counts     map[string]int `json:"counts"`
}

func main() {
	var (
		url       = flag.String("nats", env("NATS_URL", nats.DefaultURL), "NATS server URL ($NATS_URL)")
		nkey      = flag.String("nkey", os.Getenv("NATS_NKEY"), "nkey seed file to log in with, e.g. sentio's subscriber.nk ($NATS_NKEY)")
		creds     = flag.String("creds", os.Getenv("NATS_CREDS"), "NATS credentials file ($NATS_CREDS)")
		stream    = flag.String("stream", env("SENTIO_RESULT_STREAM", "SENTIO_RESULTS"), "results stream ($SENTIO_RESULT_STREAM)")
		subject   = flag.String("subject", env("SENTIO_RESULT_SUBJECT", "sentio.results"), "result subject prefix ($SENTIO_RESULT_SUBJECT)")
		durable   = flag.String("durable", env("SENTIO_DURABLE", "platform-consumer"), "durable consumer name: a restart resumes where it stopped ($SENTIO_DURABLE)")
		schema    = flag.String("schema", env("SENTIO_SCHEMA", "wire/schema/result.v1.json"), "JSON schema of results and summaries ($SENTIO_SCHEMA)")
		summaries = flag.Int("summaries", 0, "stop after this many call summaries (0: run until SIGINT or SIGTERM)")
	)
	flag.Parse()
	log.SetFlags(0)
	if err := run(*url, *nkey, *creds, *stream, *subject, *durable, *schema, *summaries); err != nil {
		log.Fatalf("go-consumer: %v", err)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(url, nkey, creds, stream, subject, durable, schemaPath string, maxSummaries int) error {
	validator, err := jsonschema.NewCompiler().Compile(schemaPath)
	if err != nil {
		return fmt.Errorf("loading the schema (--schema): %w", err)
	}
	opts := []nats.Option{nats.Name("sentio example consumer (Go)"), nats.MaxReconnects(-1)}
	if nkey != "" {
		opt, err := nats.NkeyOptionFromSeed(nkey)
		if err != nil {
			return fmt.Errorf("reading the nkey seed (--nkey): %w", err)
		}
		opts = append(opts, opt)
	}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A durable consumer remembers what was acked: after a restart, delivery resumes with the
	// first message not acked. Unacked messages are redelivered after AckWait.
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: subject + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    5,
	})
	if err != nil {
		return fmt.Errorf("creating the durable consumer %s on stream %s: %w", durable, stream, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); msgs.Stop() }()

	seen := 0
	for {
		msg, err := msgs.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil // SIGINT or SIGTERM
		}
		if err != nil {
			return err
		}
		isSummary, err := handle(msg, validator)
		if err != nil {
			// A message that does not match the schema will not match it on redelivery either:
			// report it and terminate it instead of retrying.
			log.Printf("invalid message on %s: %v", msg.Subject(), err)
			_ = msg.Term()
			continue
		}
		// Ack only once the message is handled (stored, forwarded ...), and wait for the server
		// to confirm it: a crash before this line gets the message redelivered.
		if err := msg.DoubleAck(ctx); err != nil {
			log.Printf("ack failed (the message will be redelivered): %v", err)
			continue
		}
		if isSummary {
			seen++
			if maxSummaries > 0 && seen >= maxSummaries {
				msgs.Stop()
				return nil
			}
		}
	}
}

// handle validates one message and prints it; a platform would store or forward it here.
func handle(msg jetstream.Msg, validator *jsonschema.Schema) (isSummary bool, err error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(msg.Data())))
	if err != nil {
		return false, fmt.Errorf("not JSON: %w", err)
	}
	if err := validator.Validate(doc); err != nil {
		return false, err
	}
	if strings.HasSuffix(msg.Subject(), ".summary") {
		var s summary
		if err := json.Unmarshal(msg.Data(), &s); err != nil {
			return false, err
		}
		fmt.Printf("summary call_id=%s utterances=%d duration_ms=%d counts=%s\n", s.CallID, s.Utterances, s.DurationMS, counts(s.Counts))
		return true, nil
	}
	var r result
	if err := json.Unmarshal(msg.Data(), &r); err != nil {
		return false, err
	}
	label := r.Label
	if !r.Supported {
		label = "unsupported" // a language outside the daemon's langid.languages: no label
	}
	// Transcripts are health data: this example does not print them.
	fmt.Printf("result call_id=%s utterance_id=%s role=%s span_ms=%d-%d language=%s label=%s score=%.2f\n",
		r.CallID, r.UtteranceID, r.Role, r.StartMS, r.EndMS, r.Language, label, r.Scores[r.Label])
	return false, nil
}

func counts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
