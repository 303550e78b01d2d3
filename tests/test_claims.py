"""benchmarks/studies/claims.py: each claim's rule on cells made for it, the size pairing over the same
documents, and the study on the committed runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.studies import claims, claims_rules, claims_size
from leaderboard.compare.cell import Cell
from leaderboard.read.results import Run, TaskResult


def cell(metric="acc", diff=0.0, *, task="nle_sim_esnli", config="bnb-int8-8b", q=0.5, low=None, high=None,
         hib=True, base=0.5, model="m", relative=False, within_noise=False) -> Cell:
    low = diff - 0.01 if low is None else low
    high = diff + 0.01 if high is None else high
    return Cell(model, config, task, metric, base + diff, hib, baseline=base, diff=diff, low=low, high=high, n=50,
                paired=True, p=q, q=q, relative=relative, within_noise=within_noise)


def headline(task: str, metric: str) -> bool:
    return metric in ("acc", "cosine")


def test_near_lossless_rules():
    marked = [cell(q=0.01, diff=-0.1), cell("cosine")]
    assert claims_rules.near_lossless("m", marked, headline).verdict == claims_rules.NOT
    assert claims_rules.near_lossless("m", [cell(), cell("cosine")], headline).verdict == claims_rules.HOLDS
    wide = [cell(low=-0.2, high=0.1), cell("cosine")]
    found = claims_rules.near_lossless("m", wide, headline)
    assert found.verdict == claims_rules.CANNOT, found
    assert "beyond ±0.05" in found.why
    assert claims_rules.near_lossless("m", [], headline).verdict == claims_rules.CANNOT
    within = [cell("within", q=0.001, diff=-0.2, within_noise=True), cell("cosine")]  # noise: never a mark
    assert claims_rules.near_lossless("m", within, headline).verdict == claims_rules.HOLDS


def test_within_margin_by_kind_of_metric():
    assert claims_rules.within_margin(cell(low=-0.05, high=0.04))  # a rate: ±0.05 absolute
    assert not claims_rules.within_margin(cell(low=-0.06, high=0.0))
    assert claims_rules.within_margin(cell("ppl_x", base=100.0, diff=1.0, low=-4.0, high=4.9))  # ±5 % of 100
    assert not claims_rules.within_margin(cell("ppl_x", base=100.0, diff=1.0, low=-6.0, high=4.0))
    assert claims_rules.within_margin(replace(cell(), low=None)) is None  # no interval: no evidence


def test_four_bit_mixed_counts_directions_and_leaves_twins_out():
    both = [cell(q=0.01, diff=-0.2, config="rtn-4b"), cell("cosine", q=0.01, diff=0.2, config="rtn-4b")]
    assert claims_rules.four_bit_mixed("m", both).verdict == claims_rules.HOLDS
    one = [cell(q=0.01, diff=-0.2), cell("cosine", q=0.01, diff=-0.2)]
    found = claims_rules.four_bit_mixed("m", one)
    assert found.verdict == claims_rules.NOT, found
    assert found.why == "2 worse, 0 better of 2 differences"
    twin = [cell(q=0.01, diff=-0.2), cell("acc@agree", q=0.01, diff=0.2)]  # a twin is not a second finding
    assert claims_rules.four_bit_mixed("m", twin).verdict == claims_rules.NOT
    assert claims_rules.four_bit_mixed("m", [cell()]).verdict == claims_rules.CANNOT


def test_explanations_first_orders_per_config_and_task():
    first = [cell("cosine", q=0.01, diff=-0.2), cell("acc")]
    assert claims_rules.explanations_first("m", first).verdict == claims_rules.HOLDS
    accuracy = [cell("acc", q=0.01, diff=-0.2), cell("cosine")]
    assert claims_rules.explanations_first("m", accuracy).verdict == claims_rules.NOT
    labels_only = [cell("agree_fp", q=0.01, diff=-0.3), cell("cosine")]  # a label change is neither
    assert claims_rules.explanations_first("m", labels_only).verdict == claims_rules.CANNOT
    both = [cell("acc", q=0.01, diff=-0.2), cell("cosine", q=0.01, diff=-0.2)]  # together: no order
    assert claims_rules.explanations_first("m", both).verdict == claims_rules.CANNOT
    other_probe = [cell("cosine", q=0.01, diff=-0.2, task="memorize_lre")]
    assert claims_rules.explanations_first("m", other_probe).verdict == claims_rules.CANNOT


def result(values: dict[int, float], metric: str = "unfaithful", hashes: dict[int, str] | None = None) -> TaskResult:
    mean = sum(values.values()) / len(values)
    return TaskResult("4.1", 4.0, len(values), {metric: mean}, {}, {metric: False},
                      {d: {metric: v} for d, v in values.items()}, None,
                      doc_hashes=hashes or {d: f"h{d}" for d in values})


def run(model: str, quant: str, task: str, res: TaskResult) -> Run:
    return Run(Path("x"), model, quant, None if quant == "none" else 4, None, 0.0, {task: res}, dtype="bfloat16")


def size_study(small_q: dict, large_q: dict, large_hashes: dict | None = None) -> claims_rules.Study:
    task, fp = "nle_sim_esnli", {d: 0.5 for d in range(8)}
    runs = {(claims_rules.SMALL, "explain"): [run(claims_rules.SMALL, "none", task, result(fp)),
                                       run(claims_rules.SMALL, "rtn", task, result(small_q))],
            (claims_rules.LARGE, "explain"): [run(claims_rules.LARGE, "none", task, result(fp, hashes=large_hashes)),
                                       run(claims_rules.LARGE, "rtn", task, result(large_q, hashes=large_hashes))]}
    config = runs[(claims_rules.SMALL, "explain")][1].config
    cells = [cell("unfaithful", 0.1, task=task, config=config, hib=False, model=m)
             for m in (claims_rules.SMALL, claims_rules.LARGE)]
    cells += [Cell(m, "fp-bfloat16", task, "unfaithful", 0.5, False) for m in (claims_rules.SMALL, claims_rules.LARGE)]
    return claims_rules.Study(cells, {}, runs, {}, {})


def test_faithfulness_size_pairs_the_two_models_per_document():
    small = {d: 0.9 for d in range(8)}  # the 0.5B loses 0.4 on every document, the 1.5B nothing
    found = claims_size.faithfulness_size(size_study(small, {d: 0.5 for d in range(8)}))
    assert found.verdict == claims_rules.HOLDS, found
    # one test (full precision's cells are values, not tests); its exact sign-flip p is 2/256
    assert found.evidence == ("rtn-4b-bfloat16 nle_sim_esnli unfaithful: -0.4 [-0.4, -0.4] n=8 q=0.00781",)
    reverse = claims_size.faithfulness_size(size_study({d: 0.5 for d in range(8)}, small))
    assert reverse.verdict == claims_rules.NOT, reverse
    other_data = {d: f"other{d}" for d in range(8)}  # another data set under the same ids: nothing paired
    unpaired = claims_size.faithfulness_size(size_study(small, {d: 0.5 for d in range(8)}, other_data))
    assert unpaired.verdict == claims_rules.CANNOT, unpaired


def test_size_claims_without_runs_cannot_tell():
    empty = claims_rules.Study([], {}, {}, {}, {})
    assert claims_size.faithfulness_size(empty).verdict == claims_rules.CANNOT
    assert claims_size.salient_size(empty).verdict == claims_rules.CANNOT


@pytest.mark.slow
def test_the_committed_runs_read_and_name_the_awq_baseline():
    study = claims.load(claims.RESULTS / "runs")
    found = {c.key: c for c in claims.claims(study)}
    assert set(found) == {"near_lossless", "four_bit_mixed", "faithfulness_size", "salient_size",
                          "explanations_first"}
    four = {v.scope: v for v in found["four_bit_mixed"].verdicts}
    assert any("AWQ 4-bit checkpoint" in n for n in four[claims_rules.SMALL].notes)
    assert four["smollm2-135m"].notes[0].startswith(claims.PROTOCOL3)  # its explanation runs predate protocol 4
    assert "ᴬ" in claims.markdown(list(found.values()))


def test_full_precision_gap_pairs_the_two_models_on_the_same_documents():
    task = "cf_flip_sst2"
    small = run(claims_rules.SMALL, "none", task, result({d: 0.0 for d in range(20)}, "acc"))
    large = run(claims_rules.LARGE, "none", task, result({d: 1.0 for d in range(20)}, "acc"))
    study = claims_rules.Study([], {}, {(claims_rules.SMALL, "e"): [small], (claims_rules.LARGE, "e"): [large]}, {}, {})
    (gap,) = claims_size.full_precision_gap(study)
    assert (gap.label, gap.mean, gap.n) == ("cf_flip_sst2 acc (bfloat16)", 1.0, 20)
    assert gap.q is not None and gap.q < 0.05
    other = run(claims_rules.LARGE, "none", task, result({d: 1.0 for d in range(20)}, "acc",
                                                          hashes={d: "x" for d in range(20)}))
    moved = claims_rules.Study([], {}, {(claims_rules.SMALL, "e"): [small], (claims_rules.LARGE, "e"): [other]},
                               {}, {})
    assert claims_size.full_precision_gap(moved) == []  # other documents under the same ids: nothing paired


def test_full_precision_is_read_from_the_run_never_from_its_name():
    study = size_study({d: 0.9 for d in range(8)}, {d: 0.5 for d in range(8)})
    assert study.is_fp(claims_rules.SMALL, "fp-bfloat16")
    assert not study.is_fp(claims_rules.SMALL, "rtn-4b-bfloat16")
    assert not study.is_fp("another-model", "fp-bfloat16")  # a config is full precision of its own model only
