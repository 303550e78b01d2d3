"""What the logged labels add (leaderboard/compare/labels.py): comparisons over the documents whose label equals full
precision's (`<metric>@agree`), nle_sim's agree_fp, and the noise-floor marks; silent for 3.x runs."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from leaderboard.compare.cell import Cell
from leaderboard.compare.pairing import build_cells, compare_task
from leaderboard.display import DISPLAY_FILE, load_display
from leaderboard.gate import run_gate
from leaderboard.read.results import read_run
from leaderboard.read.runs import read_runs
from leaderboard.render.site import build_site, view
from leaderboard.render.text import markdown
from qxbench.errors import QxError
from qxbench.probes.selfexplain import Counterfactual, Explanation

from .conftest import write_run

FP_PREDS = [0, 1, 0, 1, 0, 1, 0, 1]
NF4_PREDS = [0, 0, 0, 1, 0, 0, 0, 1]  # differs from full precision's on documents 1 and 5
STAMPS = {"none": "2026-11-23T10-00-00.000000", "bnb-nf4": "2026-11-23T10-05-00.000000",
          "bnb-int8": "2026-11-23T10-10-00.000000"}


def answer(task: str, pred: int, legacy: bool = False, target: int | None = None) -> str:
    """A document's logged answer as the probe writes it (4.x: schema 1; 3.x: protocol 3's repr); a
    counterfactual's target is the other of two labels unless ``target`` says another."""
    target = 1 - pred if target is None else target
    if task.startswith("cf_flip"):
        if legacy:
            return (f"Counterfactual(pred={pred}, target={target}, rewrite='x', rewrite_pred=None, ppl=nan, "
                    "ref_ppl=None)")
        return str(Counterfactual(pred=pred, target=target, answer="x", kind="valid", rewrite="x",
                                  rewrite_pred=target, ppl=math.nan, ref_ppl=None, input_ppl=math.nan))
    if legacy:
        return (f"Explanation(pred={pred}, explanation='e', inserted='w', inserted_pred={pred}, "
                "inserted_explanation='e')")
    return str(Explanation(pred=pred, explanation="e", kind="valid", capped=False, inserted="w", inserted_pred=pred,
                           inserted_explanation="e"))


def labelled_run(root: Path, task: str, quant: str, per_doc: dict[str, list[float]], preds: list[int], *,
                 legacy: bool = False, version: float = 4.1, targets: dict[int, int] | None = None) -> Path:
    """A run of ``task`` whose samples log ``preds`` as the probe's answers (full precision: quant "none"), and
    ``targets`` as some documents' counterfactual targets (the others: the other of two labels)."""
    bits = {"none": None, "bnb-nf4": 4, "bnb-int8": 8}[quant]
    path = write_run(root / quant, quant=quant, bits=bits, per_doc={task: per_doc}, stamp=STAMPS[quant],
                     version=version)
    samples = path.with_name(f"samples_{task}_{STAMPS[quant]}.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    for doc, (row, pred) in enumerate(zip(rows, preds, strict=True)):
        row["filtered_resps"] = [answer(task, pred, legacy, (targets or {}).get(doc))]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def cells_of(root: Path, iters: int = 500) -> tuple[dict[tuple[str, str], Cell], list[str]]:
    runs, notes = read_runs(root, load_display().curve_keys)
    cells, more = build_cells(runs, load_display(), iters=iters)
    return {(c.config, c.metric): c for c in cells}, notes + more


FLIP_FP = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0]
FLIP_NF4 = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
AGREEING = [0, 2, 3, 4, 6, 7]


def test_the_twin_is_the_same_comparison_over_exactly_the_label_agreeing_documents(tmp_path):
    acc = [1.0] * 8
    labelled_run(tmp_path, "cf_flip", "none", {"acc": acc, "flip_rate": FLIP_FP}, FP_PREDS)
    labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"acc": acc, "flip_rate": FLIP_NF4}, NF4_PREDS)
    cells, _ = cells_of(tmp_path)
    runs, _ = read_runs(tmp_path)
    assert runs[0].tasks["cf_flip"].preds == dict(enumerate(FP_PREDS))
    twin = cells[("bnb-nf4-4b", "flip_rate@agree")]
    assert twin.value == pytest.approx(sum(FLIP_NF4[d] for d in AGREEING) / 6)  # 2 / 6
    assert twin.baseline == pytest.approx(sum(FLIP_FP[d] for d in AGREEING) / 6)  # 4 / 6
    assert twin.diff == pytest.approx(-2 / 6)
    assert twin.n == 6
    assert (twin.n_value, twin.n_baseline) == (8, 8)
    assert twin.paired
    assert twin.higher_is_better is True
    assert not twin.not_comparable
    assert twin.nonzero == 2 and twin.untestable  # 2 documents differ: p >= 0.5 whatever the signs
    assert twin.q is None  # so out of the false-discovery-rate family, as any comparison that cannot reach 0.05
    whole = cells[("bnb-nf4-4b", "flip_rate")]
    assert whole.n == 8
    assert whole.diff == pytest.approx(-3 / 8)  # the comparison over every document is kept
    assert ("bnb-nf4-4b", "acc@agree") not in cells  # acc is not in display.yaml's `agreeing`
    assert ("fp", "flip_rate@agree") not in cells  # full precision is shown as values, not compared
    assert load_display().metric_name("cf_flip", "flip_rate@agree") == "Flip rate (label = FP's)"
    assert "the 6 documents whose label (a rewrite's: and target) equals full precision's" in view(twin, 1.0).title


def test_a_rewrite_asked_for_another_target_is_left_out_of_the_twin(tmp_path):
    """On three or more labels the target is each model's own runner-up: documents 3 and 4 agree on the label but
    the config was asked to rewrite towards label 2, full precision towards the other of 0 and 1 (issue 38 item 2:
    rewrites aimed at different targets were compared)."""
    base = read_run(labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP}, FP_PREDS))
    cand = read_run(labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"flip_rate": FLIP_NF4}, NF4_PREDS,
                                 targets={3: 2, 4: 2}))
    assert base.tasks["cf_flip"].targets == {d: 1 - p for d, p in enumerate(FP_PREDS)}
    assert cand.tasks["cf_flip"].targets[3] == 2
    cells = {c.metric: c for c in compare_task("m", "nf4", "cf_flip", cand.tasks["cf_flip"], base.tasks["cf_flip"],
                                               load_display(), iters=200)}
    twin = cells["flip_rate@agree"]
    left = [0, 2, 6, 7]
    assert twin.n == 4
    assert twin.value == pytest.approx(sum(FLIP_NF4[d] for d in left) / 4)
    assert twin.baseline == pytest.approx(sum(FLIP_FP[d] for d in left) / 4)
    assert cells["flip_rate"].n == 8  # the comparison over every document keeps them


def test_explanations_log_no_target_and_pair_by_label_alone(tmp_path):
    base = read_run(labelled_run(tmp_path, "nle_sim", "none", {"cosine": FLIP_FP}, FP_PREDS))
    assert base.tasks["nle_sim"].targets is None
    assert base.tasks["nle_sim"].preds == dict(enumerate(FP_PREDS))


def test_a_document_whose_doc_hash_differs_is_left_out_of_the_twin(tmp_path):
    base = read_run(labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP}, FP_PREDS))
    path = labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"flip_rate": FLIP_NF4}, NF4_PREDS)
    samples = path.with_name(f"samples_cf_flip_{STAMPS['bnb-nf4']}.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[3]["doc_hash"] = "another document"  # an agreeing document, with another text
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cand = read_run(path)
    cells = {c.metric: c for c in compare_task("m", "nf4", "cf_flip", cand.tasks["cf_flip"], base.tasks["cf_flip"],
                                               load_display(), iters=200)}
    twin = cells["flip_rate@agree"]
    left = [0, 2, 4, 6, 7]
    assert twin.n == 5
    assert twin.value == pytest.approx(sum(FLIP_NF4[d] for d in left) / 5)
    assert twin.baseline == pytest.approx(sum(FLIP_FP[d] for d in left) / 5)


def test_nle_sim_gets_agree_fp_from_the_logged_labels(tmp_path):
    cosine = [0.5] * 8
    labelled_run(tmp_path, "nle_sim", "none", {"acc": [1.0] * 8, "cosine": cosine}, FP_PREDS)
    labelled_run(tmp_path, "nle_sim", "bnb-nf4", {"acc": [1.0] * 8, "cosine": cosine}, NF4_PREDS)
    cells, _ = cells_of(tmp_path)
    agree = cells[("bnb-nf4-4b", "agree_fp")]
    assert (agree.value, agree.baseline, agree.diff, agree.n) == (0.75, 1.0, -0.25, 8)
    assert agree.higher_is_better is True
    assert agree.paired
    assert agree.p is not None
    assert agree.nonzero == 2 and agree.q is None  # 2 of 8 labels differ: too few to test (smallest_p)
    assert cells[("bnb-nf4-4b", "cosine@agree")].n == 6
    own = cells[("fp", "agree_fp")]  # full precision's own: 1 by definition, shown as a value
    assert (own.value, own.diff, own.n_value) == (1.0, None, 8)


def test_a_task_that_reports_agree_fp_keeps_its_own(tmp_path):
    own = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # the run's judge, not the leaderboard's labels
    labelled_run(tmp_path, "cf_flip", "none", {"agree_fp": [1.0] * 8, "flip_rate": FLIP_FP}, FP_PREDS)
    labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"agree_fp": own, "flip_rate": FLIP_NF4}, NF4_PREDS)
    cells, _ = cells_of(tmp_path)
    assert cells[("bnb-nf4-4b", "agree_fp")].value == 7 / 8
    assert cells[("fp", "agree_fp")].note == ""  # the run's own value, not the leaderboard's


def test_fewer_than_half_agreeing_documents_make_the_twin_not_comparable(tmp_path):
    labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP}, FP_PREDS)
    labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"flip_rate": FLIP_NF4}, [0, 0, 1, 0, 1, 0, 0, 1])  # 3 agree
    cells, _ = cells_of(tmp_path)
    twin = cells[("bnb-nf4-4b", "flip_rate@agree")]
    assert twin.n == 3
    assert twin.verdict == "not comparable"
    assert twin.not_comparable == ("defined with full precision's label (a rewrite's: and target) on 3 of the 8 "
                                   "documents full precision has a value for")
    assert not cells[("bnb-nf4-4b", "flip_rate")].not_comparable


@pytest.mark.parametrize("task", ["cf_flip", "nle_sim"])
def test_3x_runs_get_no_twin_no_agree_fp_and_no_new_note(tmp_path, task):
    values = {"acc": [1.0] * 8, "cosine": FLIP_FP}
    labelled_run(tmp_path / "old", task, "none", values, FP_PREDS, legacy=True, version=3.1)
    labelled_run(tmp_path / "old", task, "bnb-nf4", {**values, "cosine": FLIP_NF4}, NF4_PREDS, legacy=True,
                 version=3.1)
    write_run(tmp_path / "plain" / "fp", per_doc={task: values}, version=3.1)  # answers that hold no label
    write_run(tmp_path / "plain" / "nf4", quant="bnb-nf4", bits=4, per_doc={task: {**values, "cosine": FLIP_NF4}},
              version=3.1, stamp=STAMPS["bnb-nf4"])
    old, old_notes = cells_of(tmp_path / "old")
    plain, plain_notes = cells_of(tmp_path / "plain")
    assert read_runs(tmp_path / "old")[0][0].tasks[task].preds is None  # protocol 3's records: no label read
    assert sorted(old) == sorted(plain)
    assert old_notes == plain_notes == []
    assert not any(c.within_noise or "noise" in c.note for c in old.values())


def test_an_answer_that_does_not_read_leaves_its_label_out_with_a_note(tmp_path):
    path = labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP}, FP_PREDS)
    samples = path.with_name(f"samples_cf_flip_{STAMPS['none']}.jsonl")
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[2]["filtered_resps"] = ["Counterfactual(pred=__import__('os'))"]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runs, notes = read_runs(tmp_path)
    assert sorted(runs[0].tasks["cf_flip"].preds) == [0, 1, 3, 4, 5, 6, 7]
    assert [n for n in notes if "label" in n] == [
        f"{samples.name}:3: cf_flip: label left out: value.pred: expected a literal, found Call"]


N = 200


def noisy_runs(root: Path, flipped: int, noisy: int) -> None:
    """Full precision and int8 on N documents: int8 gets acc wrong on ``flipped`` documents and flip_rate on
    one more (all the same way: small p-values), labels two documents differently (0 and 1: acc and
    flip_rate are 0 there) and ``noisy`` of its labels change with the batch composition."""
    fp = {"acc": [1.0] * N, "flip_rate": [1.0] * N, "target_rate": [1.0] * N, "noise": [0.0] * N}
    int8 = {"acc": [0.0] * flipped + [1.0] * (N - flipped), "target_rate": [1.0] * N,
            "flip_rate": [0.0] * (flipped + 1) + [1.0] * (N - flipped - 1),
            "noise": [1.0] * noisy + [0.0] * (N - noisy)}
    labelled_run(root, "cf_flip", "none", fp, [0] * N)
    labelled_run(root, "cf_flip", "bnb-int8", int8, [1, 1] + [0] * (N - 2))


def test_a_difference_within_the_noise_rate_is_flagged_and_never_marked(tmp_path):
    noisy_runs(tmp_path, flipped=10, noisy=10)  # noise rate 10 / 200 = 0.05
    cells, _ = cells_of(tmp_path, iters=2000)
    acc = cells[("bnb-int8-8b", "acc")]  # -10 / 200: at the rate
    assert acc.diff == pytest.approx(-0.05)
    assert acc.within_noise
    assert acc.q is not None
    assert acc.q <= 0.05
    assert not acc.significant
    assert acc.verdict == "unchanged"  # its q alone would mark it
    assert acc.note == "within the noise floor: 10 of 200 labels change with the batch composition"
    outside = cells[("bnb-int8-8b", "flip_rate")]  # -11 / 200: just outside
    assert outside.diff == pytest.approx(-0.055)
    assert not outside.within_noise
    assert outside.significant
    assert outside.note == ""
    assert outside.verdict == "worse"
    twin = cells[("bnb-int8-8b", "flip_rate@agree")]  # -9 / 198 over the documents labelled alike: within
    assert twin.diff == pytest.approx(-9 / 198)
    assert twin.within_noise
    assert not twin.significant
    agree = cells[("bnb-int8-8b", "agree_fp")]  # derived (the runs report none): 198 / 200
    assert agree.diff == pytest.approx(-0.01)
    assert agree.within_noise
    assert cells[("bnb-int8-8b", "target_rate")].within_noise  # ±0
    noise = cells[("bnb-int8-8b", "noise")]
    assert noise.value == 0.05
    assert not noise.within_noise  # not a share of labels compared against it
    assert cells[("fp", "noise")].value == 0.0
    assert cells[("fp", "noise")].diff is None  # shown as a value


def test_the_site_shows_a_within_noise_cell_with_its_marker_and_legend(tmp_path):
    noisy_runs(tmp_path / "runs", flipped=10, noisy=10)
    runs, notes = read_runs(tmp_path / "runs")
    cells, more = build_cells(runs, load_display(), iters=2000)
    acc = next(c for c in cells if (c.config, c.metric) == ("bnb-int8-8b", "acc"))
    shown = view(acc, 0.05)  # the largest degradation of its column: full colour if it were marked
    assert shown.mark == "≈"
    assert shown.style.endswith(",0.25)")  # faint: not marked
    assert shown.title.startswith("within the noise floor: 10 of 200 labels change with the batch composition; ")
    assert "not marked: within the noise floor" in shown.title
    outside = next(c for c in cells if (c.config, c.metric) == ("bnb-int8-8b", "flip_rate"))
    assert view(outside, 1.0).mark == "*"
    build_site(runs, cells, notes + more, load_display(), tmp_path / "site")
    page = (tmp_path / "site" / "probe_cf_flip.html").read_text()
    assert ">-0.0500≈</td>" in page
    assert "≈ = within the noise floor" in page
    assert "(label = FP's) = the same comparison" in page
    assert "-0.0500 ≈ |" in markdown(cells)


def test_no_noise_no_marks_and_no_legend(tmp_path):
    noisy_runs(tmp_path / "runs", flipped=10, noisy=0)  # a deterministic config: nothing to mark (target_rate: ±0)
    runs, notes = read_runs(tmp_path / "runs")
    cells, more = build_cells(runs, load_display(), iters=200)
    assert not any(c.within_noise for c in cells)
    build_site(runs, cells, notes + more, load_display(), tmp_path / "site")
    assert "noise floor" not in (tmp_path / "site" / "probe_cf_flip.html").read_text()


def test_within_noise_is_never_significant():
    cell = Cell("m", "c", "t", "acc", 0.9, True, baseline=1.0, diff=-0.1, n=100, paired=True, p=0.001, q=0.001)
    assert cell.significant
    assert not replace(cell, within_noise=True).significant


def test_a_gate_can_threshold_a_twin(tmp_path):
    base = read_run(labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP}, FP_PREDS))
    cand = read_run(labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"flip_rate": FLIP_NF4}, NF4_PREDS))
    result = run_gate(base, cand, {"flip_rate@agree": 0.5}, load_display())
    row = next(r for r in result.rows if r.threshold is not None)
    assert row.cell.metric == "flip_rate@agree"
    assert row.cell.degradation == pytest.approx(2 / 6)
    assert not row.failed
    assert run_gate(base, cand, {"cf_flip/flip_rate@agree": 0.1}, load_display()).failed
    unlabelled = read_run(write_run(tmp_path / "plain", quant="bnb-nf4", bits=4, version=4.1,
                                    per_doc={"cf_flip": {"flip_rate": FLIP_NF4}}))
    with pytest.raises(QxError, match=r"--max-drop flip_rate@agree: no comparison has it"):
        run_gate(base, unlabelled, {"flip_rate@agree": 0.5}, load_display())


def test_display_yaml_lists_only_declared_metrics(tmp_path):
    text = DISPLAY_FILE.read_text()
    bad = tmp_path / "display.yaml"
    bad.write_text(text.replace("  nle_sim: [cosine, rougeL,", "  nle_sim: [cosin, rougeL,"))
    with pytest.raises(QxError, match=r"cosin.*Did you mean 'cosine'"):
        load_display(bad)


def test_a_twin_is_guarded_as_its_metric(tmp_path):
    majority = {"pred_majority": [0.95] * 8}  # a classifier that predicts one label: its flips say little
    labelled_run(tmp_path, "cf_flip", "none", {"flip_rate": FLIP_FP, "minimality": FLIP_FP, **majority}, FP_PREDS)
    labelled_run(tmp_path, "cf_flip", "bnb-nf4", {"flip_rate": FLIP_NF4, "minimality": FLIP_NF4, **majority},
                 NF4_PREDS)
    cells, _ = cells_of(tmp_path)
    assert cells[("bnb-nf4-4b", "flip_rate@agree")].not_comparable.startswith("predicts one label for 95 %")
    assert not cells[("bnb-nf4-4b", "minimality@agree")].not_comparable  # not in the guard's affects


def test_full_precision_s_own_noise_is_a_floor_too(tmp_path):
    fp = {"acc": [1.0] * N, "noise": [1.0] * 12 + [0.0] * (N - 12)}  # full precision relabels 12 with the batch
    int8 = {"acc": [0.0] * 10 + [1.0] * (N - 10), "noise": [0.0] * N}
    labelled_run(tmp_path, "cf_flip", "none", fp, [0] * N)
    labelled_run(tmp_path, "cf_flip", "bnb-int8", int8, [0] * N)
    acc = cells_of(tmp_path, iters=2000)[0][("bnb-int8-8b", "acc")]  # -0.05, within full precision's 0.06
    assert acc.within_noise
    assert acc.note == "within the noise floor: 12 of 200 labels change with the batch composition"
