"""card.py writes the figures of MODEL_CARD.md (between the FIGURES markers) from metrics.json."""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
LANGS = ["vi", "en", "zh", "de", "fr"]


def f(x):
    return f"{x:.3f}"


def table(m):
    out = ["| language | n | n-gram acc / macro-F1 | classifier acc / macro-F1 | seq2seq label acc / macro-F1 |",
           "|---|---|---|---|---|"]
    for l in LANGS:
        ng, c, s = m["ngram"]["dev"][l], m["classifier"]["dev"][l], m["seq2seq"]["dev"][l]
        out.append(f"| {l} | {c['n']} | {f(ng['accuracy'])} / {f(ng['macro_f1'])} | {f(c['accuracy'])} / "
                   f"{f(c['macro_f1'])} | {f(s['accuracy'])} / {f(s['macro_f1'])} |")
    out.append(f"| mean macro-F1 | | {f(m['ngram']['dev']['mean_macro_f1'])} | {f(m['classifier']['dev']['mean_macro_f1'])} "
               f"| {f(m['seq2seq']['dev']['mean_macro_f1'])} |")
    out += ["", "Rationale against the annotator's (ROUGE-L, exact match; rouge_l of models/reasoning/rationale.py):", "",
            "| language | n-gram retrieval ROUGE-L / exact | seq2seq generated ROUGE-L / exact | seq2seq empty "
            "| generated vs n-gram retrieval ROUGE-L |",
            "|---|---|---|---|---|"]
    r = m["seq2seq"]["rationale"]
    vs = [r[l].get("rouge_l_vs_ngram_retrieval") for l in LANGS]
    for l, v in zip(LANGS, vs):
        out.append(f"| {l} | {f(m['ngram']['rationale_rouge_l'][l])} / {f(m['ngram']['rationale_exact_match'][l])} | "
                   f"{f(r[l]['rouge_l'])} / {f(r[l]['exact_match'])} | {f(r[l]['empty_rate'])} | "
                   f"{f(v) if v is not None else 'not computed'} |")
    ng_mean = sum(m["ngram"]["rationale_rouge_l"][l] for l in LANGS) / 5
    vs_mean = f(sum(vs) / 5) if None not in vs else ""
    out.append(f"| mean | {f(ng_mean)} | {f(r['mean_rouge_l'])} | | {vs_mean} |")
    if "rationale_rouge_l_recomputed" in m["ngram"]:
        rc = m["ngram"]["rationale_rouge_l_recomputed"]
        out += ["", "(The n-gram model's retrieval rationales were recomputed here from models/reasoning for the last "
                "column; their ROUGE-L against the annotator's: " + ", ".join(f"{l} {f(rc[l])}" for l in LANGS) +
                ", the figures of models/reasoning/metrics.json.)"]
    return "\n".join(out)


def main():
    with open(os.path.join(HERE, "metrics.json")) as fh:
        m = json.load(fh)
    p = os.path.join(HERE, "MODEL_CARD.md")
    s = open(p, encoding="utf-8").read()
    s = re.sub(r"(<!-- FIGURES -->\n).*?(<!-- /FIGURES -->)", lambda x: x.group(1) + table(m) + "\n" + x.group(2), s,
               flags=re.S)
    open(p, "w", encoding="utf-8").write(s)


if __name__ == "__main__":
    main()
