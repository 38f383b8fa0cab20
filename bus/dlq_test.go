package bus

import (
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/sentio-health/sentio/config"
)

// The DLQ entries' subjects and headers are a wire contract: pinned here in full, for a rejected
// input and for a notice.
func TestDLQEntryMsg(t *testing.T) {
	names := NamesOf(config.Defaults().NATS)
	in := nats.Header{
		"Nats-Msg-Id":          {"input-1"},
		"Nats-Expected-Stream": {"SENTIO_AUDIO"},
		"Sentio-Mode":          {"stream"},
		"Sentio-Seq":           {"7"},
		"X-Custom":             {"a", "b"},
	}
	for _, c := range []struct {
		name    string
		e       DLQEntry
		subject string
		header  nats.Header
		data    string
	}{
		{"rejection", DLQEntry{Subject: "sentio.audio.p3.c9", Header: in, Data: []byte("payload"),
			Code: "not_audio", Reason: "not a WAV file", Stage: "segment", MsgID: "dlq-SENTIO_AUDIO-42", Delivered: 2, StreamSeq: 42},
			"sentio.dlq.c9", nats.Header{
				"Sentio-Mode": {"stream"}, "Sentio-Seq": {"7"}, "X-Custom": {"a", "b"},
				"Sentio-Reason-Code": {"not_audio"}, "Sentio-Reason": {"not a WAV file"}, "Sentio-Stage": {"segment"},
				"Sentio-Original-Subject": {"sentio.audio.c9"}, "Sentio-Delivered": {"2"}, "Sentio-Stream-Seq": {"42"},
				"Nats-Msg-Id": {"dlq-SENTIO_AUDIO-42"},
			}, "payload"},
		{"rejection without metadata or stage", DLQEntry{Subject: "sentio.audio.p0.c9", Header: in, Data: []byte("x"), Code: "max_deliveries", Reason: "failed"},
			"sentio.dlq.c9", nats.Header{
				"Sentio-Mode": {"stream"}, "Sentio-Seq": {"7"}, "X-Custom": {"a", "b"},
				"Sentio-Reason-Code": {"max_deliveries"}, "Sentio-Reason": {"failed"}, "Sentio-Original-Subject": {"sentio.audio.c9"},
			}, "x"},
		{"invalid call id", DLQEntry{Subject: "sentio.audio.p0.call#9", Code: "bad_header", Reason: "bad call id", Stage: "segment"},
			"sentio.dlq._invalid", nats.Header{
				"Sentio-Reason-Code": {"bad_header"}, "Sentio-Reason": {"bad call id"}, "Sentio-Stage": {"segment"},
				"Sentio-Original-Subject": {"sentio.audio.call#9"},
			}, ""},
		{"notice", DLQEntry{Subject: "sentio.audio.p3.c9", Header: in, Code: "sequence_gap", Reason: "chunks 3..5 never arrived",
			Stage: "segment", MsgID: "gap-c9-3-5", Extra: map[string]string{"Sentio-Missing": "3-5"}},
			"sentio.dlq.c9", nats.Header{
				"Sentio-Mode": {"stream"}, "Sentio-Seq": {"7"}, "X-Custom": {"a", "b"},
				"Sentio-Reason-Code": {"sequence_gap"}, "Sentio-Reason": {"chunks 3..5 never arrived"}, "Sentio-Stage": {"segment"},
				"Sentio-Original-Subject": {"sentio.audio.c9"}, "Sentio-Missing": {"3-5"}, "Nats-Msg-Id": {"gap-c9-3-5"},
			}, ""},
	} {
		m := c.e.Msg(names)
		if m.Subject != c.subject || !reflect.DeepEqual(m.Header, c.header) || string(m.Data) != c.data {
			t.Errorf("%s: got %s %v %q\nwant %s %v %q", c.name, m.Subject, m.Header, m.Data, c.subject, c.header, c.data)
		}
	}
	m := DLQEntry{Subject: "sentio.audio.p3.c9", Header: in}.Msg(names)
	m.Header["X-Custom"][0] = "changed"
	if in["X-Custom"][0] != "a" {
		t.Error("the entry's message shares its header values with the input's")
	}
}
