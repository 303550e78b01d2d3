"""What each committed cf_flip rewrite and nle_sim explanation is (issue 38): counts of answer kinds, with
the agreement with full precision's labels, the valid flips and the labels that changed with the batch.

Reads every committed ``samples_cf_flip*`` and ``samples_nle_sim*`` file under the runs folder,
reads each logged rewrite (3.x: ``Counterfactual.rewrite``, already cleaned by 3.x's ``PromptSet.rewritten``;
4.0 runs log the kind their reader gave the raw answer, which is used as it is)
with :func:`qxbench.probes.answers.read_rewrite` and each explanation (``Explanation.explanation``,
of the predicted label) with :func:`~qxbench.probes.answers.read_explanation`, and counts the kinds
per data set and config. No model runs.

``capped`` (generation stopped at ``EXPLAIN_TOKENS`` = 64 tokens) is not logged and the tokenizers
are not here, so it is estimated: an explanation of at least ``CAPPED_WORDS`` words is taken as
capped (on these runs the explanations that do not end a sentence have either at most 25 words or
at least 40; 64 SmolLM2 tokens are 45-60 words of this English).

    python -m benchmarks.studies.answer_kinds [--runs benchmarks/results/runs]
        [--out benchmarks/results/answer_kinds.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

from benchmarks.common import run
from qxbench.probes.answers import EXPLANATION_KINDS, REWRITE_KINDS, read_explanation, read_rewrite, words
from qxbench.probes.logged import plain, read_logged

CAPPED_WORDS = 40


def config_of(path: Path, runs: Path) -> str:
    """``smollm2-135m/explain/gptq-4b/...`` -> ``smollm2-135m/explain/gptq-4b``; the random floor's
    folder (``smollm2-135m-random/explain/<model>/...``) -> ``smollm2-135m/explain/random-init``
    (as ``benchmarks/studies/label_leak.py``)."""
    parts = path.relative_to(runs).parts
    if parts[0].endswith("-random"):
        return f"{parts[0].removesuffix('-random')}/{parts[1]}/random-init"
    return "/".join(parts[:3])


def kind_of(row: dict, where: str = "sample") -> str:
    """The kind of one logged sample's answer (a rewrite or an explanation)."""
    result = plain(read_logged(row["resps"][0][0], where))
    if result.get("kind"):  # cf_flip / nle_sim 4.0 logged the kind their reader gave the raw answer
        return result["kind"]
    if "rewrite" in result:  # 3.x: the logged rewrite, already cleaned by 3.x's PromptSet.rewritten
        return read_rewrite(result["rewrite"], row["doc"]).kind
    text = result["explanation"]
    return read_explanation(text, row["doc"], result["pred"], capped=len(words(text)) >= CAPPED_WORDS).kind


def read(path: Path) -> dict:
    """One samples file: the kinds' counts, each document's label (doc_id -> pred), the valid rewrites that
    flipped the label (cf_flip; None for nle_sim) and the labels that changed in the second batch composition
    (4.1's noise floor; None where no document was classified twice)."""
    kinds: Counter = Counter()
    preds: dict[int, int] = {}
    flips, noisy, twice = 0, 0, 0
    with gzip.open(path, "rt") as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            result = plain(read_logged(row["resps"][0][0], f"{path}:{n}"))
            kind = kind_of(row, f"{path}:{n}")
            kinds[kind] += 1
            preds[int(row["doc_id"])] = int(result["pred"])
            valid = kind == "valid" and result.get("rewrite_pred") is not None  # 3.x: read again, as the counts
            flips += valid and result["rewrite_pred"] != result["pred"]
            if result.get("pred_again") is not None:
                twice += 1
                noisy += result["pred_again"] != result["pred"]
    return {"counts": dict(kinds), "preds": preds, "valid_flips": flips if "cf_flip" in path.name else None,
            "noise": noisy if twice else None}


def agreement(rows: list[dict]) -> None:
    """Each row's ``agree_fp``: the documents whose label equals full precision's (the row of the same model,
    task and folder whose config is ``fp``), over the documents both have; None without such a row."""
    fp = {(r["model"], r["task"]): r for r in rows if r["config"].endswith("/fp")}
    for r in rows:
        base = fp.get((r["model"], r["task"]))
        shared = sorted(base["preds"].keys() & r["preds"].keys()) if base else []
        r["agree_fp"] = sum(r["preds"][d] == base["preds"][d] for d in shared) if shared else None
        r["agree_n"] = len(shared)


def _count(value: int | None, of: int | None = None) -> str:
    return "–" if value is None else f"{value}/{of}" if of is not None else str(value)


def table(rows: list[dict], kinds: tuple[str, ...]) -> str:
    """Per data set and config: n, agreement with full precision's labels, valid flips (cf_flip), labels that
    changed with the batch (noise), then each answer kind's count: what every number rests on."""
    flips = any(r["valid_flips"] is not None for r in rows)
    extra = ["agree FP", *(["valid flips"] if flips else []), "noise"]
    head = (f"| data set | config | n | {' | '.join(extra)} | {' | '.join(kinds)} |\n"
            f"|---|---|---:|{'---:|' * (len(extra) + len(kinds))}")
    lines = [f"| {r['task']} | {r['config']} | {r['n']} | {_count(r['agree_fp'], r['agree_n'])} | "
             + (f"{_count(r['valid_flips'])} | " if flips else "") + f"{_count(r['noise'])} | "
             + " | ".join(str(r["counts"].get(k, 0)) for k in kinds) + " |" for r in rows]
    return "\n".join([head, *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("benchmarks/results/runs"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/answer_kinds.json"))
    args = parser.parse_args()
    files = sorted(p for probe in ("cf_flip", "nle_sim") for p in args.runs.glob(f"**/samples_{probe}*_20*.jsonl.gz"))
    rows = []
    for path in files:
        task, stamp = path.name.removeprefix("samples_").split(".jsonl")[0].split("_20", 1)
        config = config_of(path, args.runs)
        rows.append({"task": task, "config": config, "model": config.rsplit("/", 1)[0], "run": f"20{stamp}",
                     "file": str(path), **read(path)})
        rows[-1]["n"] = sum(rows[-1]["counts"].values())
    agreement(rows)
    seen = Counter((r["task"], r["config"]) for r in rows)
    for r in rows:  # two runs of one task and config (the embedded world's reruns): named by their stamp
        if seen[(r["task"], r["config"])] > 1:
            r["config"] += f" @{r['run'][:16]}"
    rows.sort(key=lambda r: (not r["task"].startswith("cf_flip"), r["task"], r["config"]))
    rewrites = [r for r in rows if r["task"].startswith("cf_flip")]
    explained = [r for r in rows if r["task"].startswith("nle_sim")]
    print("Rewrites (cf_flip):\n" + table(rewrites, REWRITE_KINDS))
    print(f"\nExplanations (nle_sim; capped = at least {CAPPED_WORDS} words):\n" + table(explained, EXPLANATION_KINDS))
    kept = [{k: v for k, v in r.items() if k != "preds"} for r in rows]
    args.out.write_text(json.dumps({"rewrite_kinds": REWRITE_KINDS, "explanation_kinds": EXPLANATION_KINDS,
                                    "capped_rule": f"explanation of >= {CAPPED_WORDS} words (tokens not logged)",
                                    "rows": kept}, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    run(main)
