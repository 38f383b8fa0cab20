// Example subscriber to sentio's results, for platforms to copy: a durable JetStream consumer on
// the results stream that validates every message against the published JSON schema
// (wire/schema/result.v1.json), handles utterance results and call summaries, and acks each
// message only after handling it, so that nothing is lost when the consumer stops or crashes.
//
//   npm ci && npm run build     # tsc: consumer.ts -> dist/consumer.js
//   NATS_URL=nats://sentio-host:4222 NATS_NKEY=subscriber.nk node dist/consumer.js
//
// It prints one line per message and stops on SIGINT or SIGTERM (or after SENTIO_SUMMARIES call
// summaries).
import { readFileSync } from "node:fs";
import { AckPolicy, connect, credsAuthenticator, nanos, nkeyAuthenticator } from "nats";
import type { Authenticator, JsMsg } from "nats";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject } from "ajv/dist/2020.js";

interface Result {
  call_id: string;
  utterance_id: string;
  role: string;
  start_ms: number;
  end_ms: number;
  language: string;
  language_supported: boolean;
  label?: "negative" | "neutral" | "positive";
  scores?: Record<string, number>;
}

interface Summary {
  kind: "summary";
  call_id: string;
  utterances: number;
  duration_ms: number;
  counts: Record<string, number>;
}

const env = (key: string, def: string): string => process.env[key] || def;
const servers = env("NATS_URL", "nats://127.0.0.1:4222");
const stream = env("SENTIO_RESULT_STREAM", "SENTIO_RESULTS");
const subject = env("SENTIO_RESULT_SUBJECT", "sentio.results");
const durable = env("SENTIO_DURABLE", "platform-consumer");
const schemaPath = env("SENTIO_SCHEMA", "wire/schema/result.v1.json");
const maxSummaries = Number(env("SENTIO_SUMMARIES", "0")); // 0: run until SIGINT or SIGTERM

const validate = new Ajv2020({ allErrors: true }).compile(JSON.parse(readFileSync(schemaPath, "utf8")));

let authenticator: Authenticator | undefined;
if (process.env.NATS_NKEY) {
  authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(process.env.NATS_NKEY, "utf8").trim()));
} else if (process.env.NATS_CREDS) {
  authenticator = credsAuthenticator(readFileSync(process.env.NATS_CREDS));
}

const nc = await connect({ servers, authenticator, name: "sentio example consumer (Node.js)", maxReconnectAttempts: -1 });

// A durable consumer remembers what was acked: after a restart, delivery resumes with the first
// message not acked. Unacked messages are redelivered after ack_wait.
const jsm = await nc.jetstreamManager();
const config = {
  durable_name: durable,
  filter_subject: `${subject}.>`,
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(30_000),
  max_deliver: 5,
};
try {
  await jsm.consumers.info(stream, durable);
  await jsm.consumers.update(stream, durable, config);
} catch {
  await jsm.consumers.add(stream, config);
}
const consumer = await nc.jetstream().consumers.get(stream, durable);
const messages = await consumer.consume();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => messages.stop());
}

// handle validates one message and prints it; a platform would store or forward it here. It
// returns whether the message was a call summary.
function handle(m: JsMsg): boolean {
  const doc: unknown = m.json();
  if (!validate(doc)) {
    throw new Error(validate.errors!.map((e: ErrorObject) => `${e.instancePath || "/"} ${e.message}`).join("; "));
  }
  if (m.subject.endsWith(".summary")) {
    const s = doc as Summary;
    const counts = Object.entries(s.counts).sort().map(([k, v]) => `${k}:${v}`).join(",");
    console.log(`summary call_id=${s.call_id} utterances=${s.utterances} duration_ms=${s.duration_ms} counts=${counts}`);
    return true;
  }
  const r = doc as Result;
  // A language outside the daemon's langid.languages has no label.
  const label = r.language_supported ? r.label! : "unsupported";
  const score = r.label && r.scores ? r.scores[r.label].toFixed(2) : "0.00";
  // Transcripts are health data: this example does not print them.
  console.log(`result call_id=${r.call_id} utterance_id=${r.utterance_id} role=${r.role} span_ms=${r.start_ms}-${r.end_ms} language=${r.language} label=${label} score=${score}`);
  return false;
}

let summaries = 0;
for await (const m of messages) {
  let isSummary: boolean;
  try {
    isSummary = handle(m);
  } catch (err) {
    // A message that does not match the schema will not match it on redelivery either: report
    // it and terminate it instead of retrying.
    console.error(`invalid message on ${m.subject}: ${(err as Error).message}`);
    m.term();
    continue;
  }
  // Ack only once the message is handled (stored, forwarded ...), and wait for the server to
  // confirm it: a crash before this line gets the message redelivered.
  if (!(await m.ackAck())) {
    console.error("ack not confirmed (the message will be redelivered)");
    continue;
  }
  if (isSummary && maxSummaries > 0 && ++summaries >= maxSummaries) {
    messages.stop();
  }
}
await nc.drain();
