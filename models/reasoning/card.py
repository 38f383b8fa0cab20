"""Refresh the generated figures in MODEL_CARD.md (between the BEGIN/END GENERATED markers) from
model.json and baseline.json.

  python3 card.py
"""

from __future__ import annotations

import json
import os

LANGS = ["vi", "en", "zh", "de", "fr"]
BEGIN, END = "<!-- BEGIN GENERATED (card.py) -->", "<!-- END GENERATED (card.py) -->"


def f(x):
    return f"{x:.3f}"


def tables(m, b):
    d = m["metrics"]["dev"]
    out = []
    p = m["provenance"]
    cnt = p["split"]["counts"]
    out.append("### Classification on the blocked dev split\n")
    out.append("| lang | dev n | model acc | model macro-F1 | F1 neg / neu / pos | baseline acc | baseline macro-F1 | baseline F1 neg / neu / pos | baseline C | Δ macro-F1 |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for l in LANGS:
        x, y = d[l], b["per_language"][l]["best"]
        out.append(f"| {l} | {cnt[l]['dev']} | {f(x['accuracy'])} | **{f(x['macro_f1'])}** | "
                   f"{f(x['f1']['negative'])} / {f(x['f1']['neutral'])} / {f(x['f1']['positive'])} | "
                   f"{f(y['accuracy'])} | {f(y['macro_f1'])} | {f(y['f1']['negative'])} / {f(y['f1']['neutral'])} / {f(y['f1']['positive'])} | "
                   f"{b['per_language'][l]['best_C']:g} | {x['macro_f1'] - y['macro_f1']:+.3f} |")
    out.append(f"\nMean macro-F1: model {f(d['mean_macro_f1'])}, baseline {f(b['mean_macro_f1_best'])}.\n")
    out.append("Baseline at C = 1 (not tuned on dev): " + ", ".join(
        f"{l} {f(b['per_language'][l]['C=1']['macro_f1'])}" for l in LANGS) + ".\n")
    r = m["metrics"]["rationale"]
    out.append(f"### Rationale (dev, predicted label, method {m['rationale']['method']}, k = {m['rationale']['k']})\n")
    out.append("| lang | exact match | ROUGE-L | most-frequent baseline EM | baseline ROUGE-L | fallback rate | EM / ROUGE-L with the gold label |")
    out.append("|---|---|---|---|---|---|---|")
    for l in LANGS:
        x = r[l]
        out.append(f"| {l} | {f(x['exact_match'])} | {f(x['rouge_l'])} | {f(x['baseline_most_frequent']['exact_match'])} | "
                   f"{f(x['baseline_most_frequent']['rouge_l'])} | {f(x['fallback_rate'])} | "
                   f"{f(x['with_gold_label']['exact_match'])} / {f(x['with_gold_label']['rouge_l'])} |")
    kt = m["metrics"].get("rationale_tried", {})
    if kt:
        out.append("\nMethods and k tried on dev (mean exact match / mean ROUGE-L over the languages): " +
                   "; ".join(f"{k}: {f(v['mean_exact_match'])} / {f(v['mean_rouge_l'])}" for k, v in kt.items()) + ".\n")
    fa = m["metrics"]["faithfulness"]
    out.append("### Faithfulness of the evidence (dev)\n")
    out.append("| lang | p(label) full text | comprehensiveness ↑ | sufficiency p(label \\| evidence only) ↑ | ERASER sufficiency p(full) − p(evidence) ↓ | evidence share of text |")
    out.append("|---|---|---|---|---|---|")
    for l in LANGS:
        x = fa[l]
        out.append(f"| {l} | {f(x['p_label_full'])} | {f(x['comprehensiveness'])} | {f(x['sufficiency'])} | {f(x['sufficiency_eraser'])} | {f(x['evidence_share_of_text'])} |")
    if "random_comprehensiveness" in fa.get("vi", {}):
        out.append("\nRandom control (as many features as the rule selects, drawn at random among the text's "
                   "features, spans merged the same way) — comprehensiveness / sufficiency / share of text: " +
                   ", ".join(f"{l} {f(fa[l]['random_comprehensiveness'])} / {f(fa[l]['random_sufficiency'])} / "
                             f"{f(fa[l]['random_share_of_text'])}" for l in LANGS) + ".\n")
    sz = p["sizes_bytes"]
    out.append(f"\n### Provenance\n")
    out.append(f"- seed {p['seed']}, HEAD at training `{p['git_commit']}`, trained {p['date']}")
    out.append(f"- split: {p['split']['method']}; dev blocks {p['split']['dev_blocks']} "
               f"(ids {', '.join(a + '..' + z for a, z in p['split']['dev_id_ranges'])})")
    out.append(f"- counts: " + ", ".join(f"{l} {c['train']} train / {c['dev']} dev" for l, c in cnt.items()))
    out.append(f"- training time {p['training_seconds']} s (model fit), {p['total_seconds']} s for the whole run "
               "(features, fit, export, evaluation, rationale index, fixtures) on 2 shared CPU cores")
    out.append(f"- sizes: " + ", ".join(f"{k} {v/1e6:.1f} MB" for k, v in sz.items()) +
               f", total {sum(sz.values())/1e6:.1f} MB")
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    m = json.load(open(os.path.join(here, "model.json"), encoding="utf-8"))
    b = json.load(open(os.path.join(here, "baseline.json"), encoding="utf-8"))
    path = os.path.join(here, "MODEL_CARD.md")
    text = open(path, encoding="utf-8").read()
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    text = text[:i] + "\n" + tables(m, b) + text[j:]
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
