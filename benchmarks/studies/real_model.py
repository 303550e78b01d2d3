"""Benchmark: the six probes on a real model (``--model``: SmolLM2-135M-Instruct, whose "full precision"
is its GGUF Q4_1 weights dequantized to float32, or Gemma 3 270M base, GGUF Q4_K_M dequantized) over
real data from ../shared/data, full precision vs a random-init model of the same shape vs quantized
configs, as paired differences against full precision.

    python -m benchmarks.studies.real_model --limit 20 [--model gemma3-270m] [--configs fp,random,bnb-int8,...]
        [--tasks ...]

Documents per probe (the first ``--limit`` of each):
  cf_flip, nle_sim     the embedded world's reviews (plain prompts; --chat: through the chat template)
  memorize_lre         LRE factual relations (``--relations``)
  multihop_lre         chains composed from LRE by ``qxbench data twohop`` (written to a temp file)
  calib_msingh_boolq_choices   the calibration study's BoolQ CSV, answer-set mode
  neurons_msingh_boolq the same CSV's prompts, verbatim

Each probe runs in its own lm-eval call (each has its own ``--metadata``); a quantized config is built
once and then read from the qxbench model cache. Writes ``benchmarks/results/real_model.json``
(``real_model_gemma3-270m.json`` for Gemma) and prints the Markdown table the README quotes. Needs
``pip install 'qxbench[smollm2]'`` (or ``[gemma3]``) and ../shared (or ``QXBENCH_SHARED``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from benchmarks.common import REPO, evaluate, markdown, paired_table, random_init_checkpoint

SHARED = Path(os.environ.get("QXBENCH_SHARED") or REPO.parent / "shared")
MODEL = "smollm2-135m"
MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct; full precision = GGUF Q4_1 dequantized",
          "gemma3-270m": "Gemma 3 270M base; full precision = GGUF Q4_K_M dequantized",
          "qwen2.5-coder-0.5b": "Qwen2.5-Coder-0.5B-Instruct; full precision = GGUF Q4_K_M (made from Qwen's AWQ "
                                "4-bit checkpoint) dequantized",
          "qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct; full precision = GGUF Q4_K_M dequantized"}
CONFIGS = {
    "fp": "",
    "bf16": "dtype=bfloat16",  # full precision computing in bfloat16 (with --dtype float32, the pair bf16 - fp32)
    "random": None,  # a random-init checkpoint of the same config and tokenizer
    "bnb-int8": "quant=bnb-int8",
    "bnb-nf4": "quant=bnb-nf4",
    "gptq-4": "quant=gptq,bits=4,{calibration}",
    "rtn-4": "quant=rtn,bits=4",
    "awq-4": "quant=awq,bits=4,{calibration}",
}
# GPTQ/AWQ calibrate on real text: offline, WikiText-2 (calibration=auto) is out of reach, so the
# calibration study's PIQA prompts (real English, not among the evaluated documents) stand in.
CALIBRATION = "calibration={shared}/data/msingh/piqa.csv,calib_column=prompt,calib_samples=64"
TASKS = ["cf_flip", "nle_sim", "memorize_lre", "multihop_lre", "calib_msingh_boolq_choices", "neurons_msingh_boolq"]
# The explanation variants on real data sets (``--tasks cf_flip_sst2,...``): their files under ../shared/data/explain.
EXPLAIN_FILES = {"cf_flip_sst2": "sst2_validation.jsonl", "cf_flip_ag_news": "ag_news_test.jsonl",
                 "cf_flip_esnli": "esnli_test.jsonl", "cf_flip_healthfc": "healthfc.csv",
                 "nle_sim_esnli": "esnli_test.jsonl", "nle_sim_ecqa": "ecqa_validation.csv",
                 "nle_sim_healthfc": "healthfc.csv"}
# Prompts go through the chat template only with --chat: measured on SmolLM2 (10 reviews), the template
# drops cf_flip's own-label accuracy from 0.95 (plain prompt, 20 reviews) to 0.40 and its flip rate
# to 0.10: the label log-likelihoods after an assistant turn header favour one label.
CHAT_TASKS = ("cf_flip", "nle_sim", *EXPLAIN_FILES)


def task_metadata(task: str, chains: Path, relations: str) -> dict:
    data = SHARED / "data"
    if task in EXPLAIN_FILES:
        return {"data_path": str(data / "explain" / EXPLAIN_FILES[task])}
    if task.startswith("memorize_lre"):
        return {"lre_path": str(data / "lre" / "factual"), "lre_relations": relations}
    if task.startswith("multihop_lre"):
        return {"data_path": str(chains)}
    if "msingh" in task:
        return {"data_path": str(data / "msingh")}
    return {}


def compose_chains(out: Path) -> None:
    from qxbench.cli import main as qxbench

    if qxbench(["data", "twohop", "--lre", str(SHARED / "data" / "lre"), "-o", str(out)]):
        sys.exit("qxbench data twohop failed")


def recorded(metadata: dict) -> dict:
    """The metadata as the results file records it: ../shared paths, not this machine's."""
    return {k: v.replace(str(SHARED), "../shared") if isinstance(v, str) else v for k, v in metadata.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--model", default=MODEL, choices=list(MODELS))
    parser.add_argument("--configs", default="fp,random,bnb-int8,bnb-nf4,gptq-4,rtn-4")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--relations", default="country_capital_city,country_language",
                        help="LRE factual relations for memorize_lre (file stems; --limit takes the first documents)")
    parser.add_argument("--chat", action="store_true", help="cf_flip and nle_sim through the chat template")
    parser.add_argument("--dtype", default=None, choices=["float32", "bfloat16"],
                        help="every config's dtype= (default: the adapter's, float32); the bf16 config keeps bfloat16")
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/real_model[_MODEL].json")
    args = parser.parse_args()
    suffix = "" if args.model == MODEL else f"_{args.model}"
    args.out = args.out or Path(f"benchmarks/results/real_model{suffix}.json")
    chat = set(CHAT_TASKS) if args.chat else set()
    if not (SHARED / "data").is_dir():
        sys.exit(f"{SHARED / 'data'} is absent: set QXBENCH_SHARED to the folder holding data/ "
                 "(see ../shared/README.md)")

    names, tasks = args.configs.split(","), args.tasks.split(",")
    assert names[0] == "fp", "the first config must be fp (the baseline)"
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        chains = Path(tmp) / "chains.csv"
        if any(t.startswith("multihop_lre") for t in tasks):
            compose_chains(chains)
        for name in names:
            config = CONFIGS[name] and CONFIGS[name].format(calibration=CALIBRATION.format(shared=SHARED))
            model_args = (f"pretrained={random_init_checkpoint(Path(tmp) / 'random', args.model)}" if name == "random"
                          else ",".join(filter(None, [f"pretrained={args.model}", config])))
            if args.dtype and "dtype=" not in model_args:
                model_args += f",dtype={args.dtype}"
            entry: dict = {"model_args": recorded({"a": model_args})["a"], "seconds": {}, "results": {}, "per_doc": {}}
            for task in tasks:
                metadata = task_metadata(task, chains, args.relations)
                try:
                    results, per_doc, seconds, load = evaluate(model_args, args.limit, [task], metadata=metadata,
                                                          chat=task in chat)
                except Exception as err:  # noqa: BLE001 - a config that cannot run a probe is reported, not hidden
                    entry.setdefault("errors", {})[task] = f"{type(err).__name__}: {err}".splitlines()[0]
                    print(f"{name} {task}: FAILED {entry['errors'][task]}", flush=True)
                    continue
                entry["results"].update(results)
                entry["per_doc"].update(per_doc)
                entry["seconds"][task] = round(seconds, 1)
                entry.setdefault("load", {})[task] = load  # the first probe of a config quantizes (cache miss)
                print(f"{name} {task}: {seconds:.0f} s", flush=True)
            runs[name] = entry
            write(args, runs, list(runs), tasks, chat)  # after every config: a run cut off keeps what it measured
    print(markdown(paired_table(runs, list(runs), tasks), list(runs)))


def write(args: argparse.Namespace, runs: dict[str, dict], names: list[str], tasks: list[str], chat: set[str]) -> None:
    from qxbench import __version__

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "qxbench": __version__, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "model": f"{args.model} ({MODELS[args.model]})",
        "limit": args.limit, "tasks": {t: {"metadata": recorded(task_metadata(t, Path("chains.csv"), args.relations)),
                                           "chat_template": t in chat} for t in tasks},
        "configs": {n: {k: v for k, v in r.items() if k != "per_doc"} for n, r in runs.items()},
        "paired": paired_table(runs, names, tasks),
    }, indent=1, default=str))

if __name__ == "__main__":
    main()
