"""bench.py measures Python onnxruntime on a sentio transformer model directory, driven the way
models/transformer/reference.py drives it (the parity reference), to set beside the Go runtime's
BenchmarkTransformer (reasoning/bench_transformer_test.go runs this script and reports its
numbers in the same `go test -bench` run).

Texts: the model's parity fixture (testdata/transformer/<name>.jsonl.gz), cycled. Measures, one
intra-op thread as the Go benchmarks:
  encoder-classifier  tokenize + graph, batch 1 and 32 (padded to the longest)
  seq2seq             tokenize + encoder + label scoring + greedy rationale with the KV cache,
                      batch 1 (reference.py decodes one text at a time)
Printed as JSON lines: {"what", "batch", "texts", "seconds", "texts_per_s", "cpu_us_per_text"}.

    python3 reasoning/testdata/transformer/bench.py --model-dir reasoning/testdata/transformer/random-s2s \
        --fixture reasoning/testdata/transformer/random-s2s.jsonl.gz
"""
import argparse
import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "transformer"))

import reference  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with gzip.open(args.fixture, "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    recs = [r for r in recs if "error" not in r]
    run = reference.Runner(args.model_dir)
    batches = args.batch or [1, 32]
    if run.kind == "seq2seq":
        batches = [1]

    def once(chunk):
        rows = [run.ids(r["text"], r["lang"]) for r in chunk]
        if run.kind == "encoder-classifier":
            run.classify(rows)
        else:
            for row in rows:
                run.reason(row)

    for b in batches:
        chunks = [recs[i:i + b] for i in range(0, len(recs) - b + 1, b)]
        once(chunks[0])  # warm up
        n, k, start, cpu0 = 0, 0, time.perf_counter(), time.process_time()
        while True:
            c = chunks[k % len(chunks)]
            once(c)
            n += len(c)
            k += 1
            el = time.perf_counter() - start
            if el >= args.seconds:
                break
        cpu = time.process_time() - cpu0
        print(json.dumps({"what": run.kind, "batch": b, "texts": n, "seconds": round(el, 3),
                          "texts_per_s": round(n / el, 1), "cpu_us_per_text": round(cpu * 1e6 / n, 1)}), flush=True)


if __name__ == "__main__":
    main()
