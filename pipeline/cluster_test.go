package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentio-health/sentio/asr"
	"github.com/sentio-health/sentio/bus"
	"github.com/sentio-health/sentio/internal/testenv"
)

// runCluster starts a three-node JetStream cluster on loopback and returns its client URLs.
func runCluster(t *testing.T) []string {
	t.Helper()
	ports := []int{testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)}
	routes := ""
	for i, p := range ports {
		if i > 0 {
			routes += ","
		}
		routes += fmt.Sprintf("nats://127.0.0.1:%d", p)
	}
	var servers []*server.Server
	for i, p := range ports {
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "sentio-test", Host: "127.0.0.1", Port: p},
			Routes:  server.RoutesFromStr(routes)}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers = append(servers, s)
	}
	var urls []string
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("cluster node not ready")
		}
		urls = append(urls, s.ClientURL())
	}
	return urls
}

func waitJetStream(t *testing.T, url string) {
	t.Helper()
	_, js := connect(t, url)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("JetStream cluster has no meta leader after 30s")
}

// slowASR is fakeASR taking some time per utterance, so work is in flight when an instance dies.
type slowASR struct{ fakeASR }

func (s *slowASR) Transcribe(ctx context.Context, pcm []float32) (asr.Result, error) {
	select {
	case <-time.After(30 * time.Millisecond):
	case <-ctx.Done():
		return asr.Result{}, ctx.Err()
	}
	return s.fakeASR.Transcribe(ctx, pcm)
}

func published(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return sumMetric(t, reg, "sentio_pipeline_results_published_total")
}

// Two instances on a three-node cluster share the work; one dies mid-stream and the other
// finishes its calls: every utterance of every call has exactly one result.
func TestTwoInstancesShareWorkAndSurviveTheDeathOfOne(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	urls := runCluster(t)
	waitJetStream(t, urls[0])
	cfg := testConfig()
	cfg.NATS.Replicas = 3
	a, regA := startComponent(t, urls[0], cfg, testParts(t, &slowASR{}), nil)
	cfgB := *cfg
	b, regB := startComponent(t, urls[1], &cfgB, testParts(t, &slowASR{}), nil)
	// Wait until the partitions are spread over both.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (len(a.consumer.Owned()) == 0 || len(b.consumer.Owned()) == 0 ||
		len(a.consumer.Owned())+len(b.consumer.Owned()) != 8) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("partitions: A %v, B %v", a.consumer.Owned(), b.consumer.Owned())
	if len(a.consumer.Owned()) == 0 || len(b.consumer.Owned()) == 0 {
		t.Fatalf("partitions not shared: A %v, B %v", a.consumer.Owned(), b.consumer.Owned())
	}
	nc, js := connect(t, urls[2])
	r := &rig{t: t, nc: nc, js: js, cfg: cfg}
	// The bucket of large clips is replicated like the streams.
	obs, err := js.ObjectStore(context.Background(), bus.ObjectBucket)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := obs.Status(context.Background()); err != nil {
		t.Fatal(err)
	} else if st.Replicas() != cfg.NATS.Replicas {
		t.Fatalf("object store bucket %s has %d replicas; want %d", bus.ObjectBucket, st.Replicas(), cfg.NATS.Replicas)
	}
	const calls = 12
	for i := 0; i < calls; i++ {
		r.clip(fmt.Sprintf("clip-%d", i), wav(tone(6, [2]float64{0.5, 1.5}, [2]float64{2.5, 3.2}, [2]float64{4.5, 5.5}), 16000), nil)
	}
	streams := make([][]chunkMsg, calls)
	for i := range streams {
		streams[i] = chunks(fmt.Sprintf("live-%d", i), threeBursts, 200)
	}
	// Interleave the calls' chunks as live feeds would, and kill B halfway.
	for k := 0; k < len(streams[0]); k++ {
		for i := range streams {
			r.sendChunks(streams[i][k : k+1])
		}
		if k == len(streams[0])/2 {
			within(t, time.Until(deadline.Add(20*time.Second)), "B to publish a result before it is killed", func() bool { return published(t, regB) > 0 })
			t.Logf("killing B after %v results from it (A: %v)", published(t, regB), published(t, regA))
			b.killForTest()
		}
	}
	want := 2 * calls * 3
	collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 90*time.Second) // wait for them
	// Every input acked, B's redelivered ones included: nothing more is published after this.
	r.settled(60 * time.Second)
	res := results(t, collect(t, js, cfg.NATS.ResultStream, "sentio.results.*", want, 5*time.Second))
	per := resultsPerCall(t, res)
	for i := 0; i < calls; i++ {
		for _, id := range []string{fmt.Sprintf("clip-%d", i), fmt.Sprintf("live-%d", i)} {
			if per[id] != 3 {
				t.Errorf("call %s has %d results; want 3", id, per[id])
			}
		}
	}
	if len(res) != want {
		t.Errorf("%d results; want %d", len(res), want)
	}
	if pa, pb := published(t, regA), published(t, regB); pa == 0 || pb == 0 {
		t.Errorf("work not shared: A published %v, B %v", pa, pb)
	}
	for i := 0; i < calls; i++ {
		if s := summaryOf(t, r, fmt.Sprintf("live-%d", i)); s.Utterances != 3 {
			t.Errorf("summary of live-%d counts %d utterances", i, s.Utterances)
		}
	}
	if dlq := collect(t, js, cfg.NATS.DLQStream, "sentio.dlq.>", 0, 200*time.Millisecond); len(dlq) != 0 {
		for _, m := range dlq {
			t.Errorf("unexpected DLQ entry: %v", m.Headers())
		}
	}
}
