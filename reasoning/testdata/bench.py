"""bench.py measures Python onnxruntime's throughput on the reasoning model, to set beside the Go
runtime's benchmarks (reasoning/bench_test.go runs this script and reports its numbers in the
same `go test -bench` run).

Texts: the parity records (reasoning/testdata/parity/*.jsonl, 1000 dev utterances in five
languages), cycled. Two measures, each at every batch size given:
  graph          ids/values already extracted; only the ONNX Runtime call (the graph itself)
  features+graph models/reasoning/features.py extraction, padding and the ONNX Runtime call
Printed as JSON lines: {"what", "batch", "threads", "texts", "seconds", "texts_per_s",
"cpu_us_per_text"} (process CPU time, all threads: robust when the machine is shared).

    python3 reasoning/testdata/bench.py --model-dir models/reasoning --threads 1 --batch 1 --batch 32
"""
import argparse
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "reasoning"))

import features  # noqa: E402
import ngram  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "reasoning"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--seconds", type=float, default=3.0, help="minimum time per measure")
    args = ap.parse_args()
    batches = args.batch or [1, 32]

    import onnxruntime as ort

    with open(os.path.join(args.model_dir, "model.json"), encoding="utf-8") as f:
        man = json.load(f)
    spec = man["features"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(os.path.join(args.model_dir, man["onnx"]["file"]), so,
                                providers=["CPUExecutionProvider"])
    names = man["onnx"]
    outs = [names["outputs"]["probs"], names["outputs"]["contributions"]]
    texts = []
    for p in sorted(glob.glob(os.path.join(HERE, "parity", "*.jsonl"))):
        with open(p, encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    feats = [features.extract(t, spec) for t in texts]

    def run(ids, vals):
        sess.run(outs, {names["inputs"]["ids"]: ids, names["inputs"]["values"]: vals})

    for what in ("graph", "features+graph"):
        for b in batches:
            chunks = [list(range(i, min(i + b, len(texts)))) for i in range(0, len(texts), b)]
            chunks = [c for c in chunks if len(c) == b] or chunks
            padded = [ngram.batch([feats[i] for i in c]) for c in chunks] if what == "graph" else None
            run(*ngram.batch([feats[i] for i in chunks[0]]))  # warm up
            n, k, start, cpu0 = 0, 0, time.perf_counter(), time.process_time()
            while True:
                c = chunks[k % len(chunks)]
                if what == "graph":
                    run(*padded[k % len(chunks)])
                else:
                    run(*ngram.batch([features.extract(texts[i], spec) for i in c]))
                n += len(c)
                k += 1
                el = time.perf_counter() - start
                if el >= args.seconds and k >= len(chunks):
                    break
            cpu = time.process_time() - cpu0
            print(json.dumps({"what": what, "batch": b, "threads": args.threads, "texts": n,
                              "seconds": round(el, 3), "texts_per_s": round(n / el, 1),
                              "cpu_us_per_text": round(cpu * 1e6 / n, 1)}), flush=True)


if __name__ == "__main__":
    main()
