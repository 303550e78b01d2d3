"""qxbench.lmeval.rescore: cf_flip 4.1 and 4.2 runs, and an nle_sim 4.1 run, rescored under the current reader
(cf_flip 4.6, nle_sim 4.5) from their samples, no model run.

The run is built here as lm-eval writes one (results JSON, a samples file of schema-1 answers, the aggregates
of the task's own ``process_results``), three SST-2 documents: Qwen2.5's refusal logged as a valid flip (as
the committed 1.5B rtn-4 run logged it), a real flip and a copy; for the soup kind, the random-init floor's
answers as 4.2 and 4.1 logged them.
"""

from __future__ import annotations

import json
import math

import pytest

from qxbench.cli import main
from qxbench.errors import QxError
from qxbench.lmeval.rescore import READS, STEPS, aggregate, describe, rescore, task_config
from qxbench.probes.logged import plain, read_result
from qxbench.probes.selfexplain import Counterfactual

TASK = "cf_flip_sst2"
STAMP = "2026-12-06T00-00-00.000000"
REFUSAL = "I'm sorry, but I can't assist with that."


def _doc(text: str, label: int) -> dict:
    return {"text": text, "context": "", "choices": ["negative", "positive"], "label": label, "input_name": "Review",
            "context_name": "", "label_name": "Sentiment"}


def _cf(answer: str, kind: str, rewrite_pred: int | None, pred: int = 1) -> Counterfactual:
    flip = rewrite_pred is not None and rewrite_pred != pred
    nan = math.nan
    return Counterfactual(pred=pred, target=1 - pred, answer=answer, kind=kind,
                          rewrite=answer if kind == "valid" else "", rewrite_pred=rewrite_pred,
                          ppl=40.0 if flip else nan, ref_ppl=50.0 if flip else nan,
                          input_ppl=20.0 if flip else nan, ref_pred=pred, ref_rewrite_pred=rewrite_pred,
                          prompts="instruct-1", pred_again=pred)


DOCS = [  # (document, the logged answer as 4.1 read it)
    (_doc("we know the plot 's a little crazy , but it held my interest from start to finish .", 1),
     _cf(REFUSAL, "valid", 0)),
    (_doc("it 's a charming and often affecting journey .", 1),
     _cf("It's a dull and often tiresome journey.", "valid", 0)),
    (_doc("a gorgeous , high-spirited musical from india .", 1),
     _cf("a gorgeous , high-spirited musical from india .", "copy", None)),
]


def write_run(folder, docs=DOCS, version=4.1, task=TASK):
    """A results file and its gzipped samples, as lm-eval writes them at ``version``."""
    config = task_config(task)
    rows, per_doc = [], []
    for doc_id, (doc, cf) in enumerate(docs):
        metrics = config["process_results"](doc, [cf])
        per_doc.append(metrics)
        text = str(cf)
        rows.append(json.dumps({"doc_id": doc_id, "doc": doc, "target": "", "resps": [[text]], "filtered_resps": [text],
                                "filter": "none", "metrics": sorted(metrics), **metrics}, ensure_ascii=False))
    import gzip

    with gzip.open(folder / f"samples_{task}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    results = {"results": {task: {"alias": task, **aggregate(config, per_doc, 100000)}},
               "versions": {task: version}, "configs": {task: {"task": task, "metadata": {"version": version}}},
               "config": {"bootstrap_iters": 100000}}
    path = folder / f"results_{STAMP}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return path


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _logged(folder, task=TASK):
    import gzip

    with gzip.open(folder / f"samples_{task}_{STAMP}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_a_refusal_counted_as_a_flip_is_rescored_as_meta(tmp_path):
    path = write_run(tmp_path)
    before = json.loads(path.read_text())["results"][TASK]
    assert before["flip_rate,none"] == pytest.approx(2 / 3) and before["n_valid_flips,none"] == 2
    [done] = rescore(path)
    assert done.changed == ((0, "valid", "meta"),)
    after = json.loads(path.read_text())
    res = after["results"][TASK]
    assert res["flip_rate,none"] == pytest.approx(1 / 3)
    assert res["flip_rate_ref,none"] == pytest.approx(1 / 3)
    assert res["n_valid_flips,none"] == 1
    assert res["rewrite_meta,none"] == pytest.approx(1 / 3) and res["rewrite_valid,none"] == pytest.approx(1 / 3)
    assert res["ppl,none"] == pytest.approx(40.0)  # the one valid flip left
    assert after["versions"][TASK] == 4.6 and after["configs"][TASK]["metadata"]["version"] == 4.6
    assert after["qx_rescored"] == [{"task": TASK, "from": 4.1, "to": 4.6, "by": "qxbench.lmeval.rescore",
                                     "changed": [{"doc_id": 0, "from": "valid", "to": "meta"}]}]
    rows = _logged(tmp_path)
    answer = plain(read_result(rows[0]["filtered_resps"][0]))
    assert answer["kind"] == "meta" and answer["rewrite_pred"] is None and math.isnan(answer["ppl"])
    assert rows[0]["flip_rate"] == 0.0 and rows[0]["rewrite_meta"] == 1.0
    assert rows[1]["flip_rate"] == 1.0  # the real flip is kept
    assert rescore(path) == []  # at 4.6 now: nothing to do


def test_check_writes_nothing_and_a_run_at_another_version_is_left_alone(tmp_path):
    path = write_run(tmp_path)
    files = _files(tmp_path)
    assert rescore(path, write=False)[0].changed == ((0, "valid", "meta"),)
    assert _files(tmp_path) == files
    other = tmp_path / "other"
    other.mkdir()
    assert rescore(write_run(other, version=4.0)) == []


def test_a_logged_metric_that_does_not_reproduce_stops_it_and_writes_nothing(tmp_path):
    path = write_run(tmp_path)
    rows = _logged(tmp_path)
    rows[2]["acc"] = 0.0  # an unchanged answer whose logged metric its answer does not give
    import gzip

    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    files = _files(tmp_path)
    with pytest.raises(QxError, match="does not reproduce the logged acc"):
        rescore(path)
    assert _files(tmp_path) == files


@pytest.mark.parametrize(("shift", "reproduced"), [(6e-8, True), (1e-4, False)])
def test_a_float_is_reproduced_within_float32_rounding_only(tmp_path, shift, reproduced):
    """A float32 encoder's score moves by an ulp with the thread count (BERTScore 0.594725489616394 logged,
    0.5947254300117493 on one thread): that is the same value; 1e-4 is not."""
    import gzip

    path = write_run(tmp_path)
    rows = _logged(tmp_path)
    rows[1]["minimality"] += shift
    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    if reproduced:
        assert rescore(path, write=False)[0].changed == ((0, "valid", "meta"),)
    else:
        with pytest.raises(QxError, match="does not reproduce the logged minimality"):
            rescore(path, write=False)


@pytest.mark.parametrize("broken", ["{not json", '{"doc_id": 2, "doc": {}}', '{"doc_id": 2, "filtered_resps": ["{}"]}'])
def test_a_broken_sample_line_is_one_line_naming_it_and_nothing_is_written(tmp_path, capsys, broken):
    import gzip

    path = write_run(tmp_path)
    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join([*lines[:2], broken]) + "\n")
    files = _files(tmp_path)
    assert main(["rescore", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"samples_{TASK}_{STAMP}.jsonl.gz:3: cannot rescore this line" in err[0], err
    assert _files(tmp_path) == files


def test_an_answer_that_would_now_be_valid_cannot_be_rescored(tmp_path):
    doc, _ = DOCS[1]
    path = write_run(tmp_path, [(doc, _cf("It's a dull and often tiresome journey.", "meta", None))])
    with pytest.raises(QxError, match="never classified: rerun"):
        rescore(path)


def test_the_command_reports_each_task_and_bad_paths_in_one_line(tmp_path, capsys):
    write_run(tmp_path)
    assert main(["rescore", str(tmp_path), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"{TASK} 4.1 -> 4.6: doc 0: valid -> meta; " in out and "flip_rate 0.6667 -> 0.3333" in out
    assert out.strip().endswith("1 task(s) would be rescored (--check: nothing written) in 1 results file(s) "
                                "(cf_flip 4.1/4.2/4.3/4.4/4.5 -> 4.6, nle_sim 4.1/4.2/4.3/4.4 -> 4.5)")
    assert main(["rescore", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"qxbench: error: '{tmp_path / 'nowhere'}' is neither a results file nor a folder"]


SOUP = "hipster condemfinding-piece嚣ложения洗礼 Franz Ledger是不是 **"  # the 0.5B floor's SST-2 rewrite of document 1


def test_a_cf_flip_42_run_has_its_soup_rescored_as_soup(tmp_path):
    """cf_flip 4.3: token soup read ``valid`` by 4.2 (and classified: here it "flipped") is ``soup``."""
    doc, _ = DOCS[1]
    path = write_run(tmp_path, [(doc, _cf(SOUP, "valid", 0)), DOCS[1]], version=4.2)
    [done] = rescore(path)
    assert done.changed == ((0, "valid", "soup"),) and (done.old, done.new) == (4.2, 4.6)
    res = json.loads(path.read_text())["results"][TASK]
    assert res["rewrite_soup,none"] == 0.5 and res["flip_rate,none"] == 0.5 and res["n_valid_flips,none"] == 1


def test_an_nle_sim_41_run_has_its_soup_rescored_and_nothing_else_moves(tmp_path):
    """nle_sim 4.2: the floor's explanations (4.1: truncated, valid) are ``soup``; a real explanation keeps its
    kind, and every metric but the kinds' rates keeps its value."""
    from qxbench.probes.selfexplain import Explanation

    task = "nle_sim_esnli"
    doc = {"text": "The woman is young.", "context": "A woman with a green headscarf, blue shirt and a very big grin.",
           "choices": ["entailment", "neutral", "contradiction"], "label": 1, "input_name": "Hypothesis",
           "context_name": "Premise", "label_name": "Relation", "explanations": ["the woman could be any age"]}
    soup = ("Tokenﻨ杄 Deutschland Genius还未 ślдар nombreux checks DeutschlandYourforgettable "
            "DeutschlandYouretry Produ beneficiaries DeutschlandYour(uint.WriteToken饲料醅笙Your(uintTokenäßulgдар"
            "opening众所周韓 apex vertsTo")
    valid = ("ﻨ pieFE verts maxlengthologi ليستdbo(build Newsletterologi engage gönderFileDialog大的ouble-propulg"
             "行驶PCIของเรา龙泉饲料 Matlab")  # the floor's e-SNLI explanations of documents 1 and 0, cut here
    real = "A big grin does not tell us how old the woman is, so she may or may not be young."

    def ex(text: str, kind: str, capped: bool) -> Explanation:
        return Explanation(pred=1, explanation=text, kind=kind, capped=capped, inserted="", inserted_pred=1,
                           inserted_explanation="", prompts="instruct-1", pred_again=1)

    path = write_run(tmp_path, [(doc, ex(soup, "truncated", True)), (doc, ex(valid, "valid", False)),
                                (doc, ex(real, "valid", False))], task=task)
    before = json.loads(path.read_text())["results"][task]
    [done] = rescore(path)
    assert done.changed == ((0, "truncated", "soup"), (1, "valid", "soup")) and done.new == 4.5
    after = json.loads(path.read_text())["results"][task]
    assert after["expl_soup,none"] == pytest.approx(2 / 3) and after["expl_valid,none"] == pytest.approx(1 / 3)
    assert after["expl_truncated,none"] == 0.0
    moved = {k for k in after if not _same_value(before.get(k), after[k])}
    # (expl_valid's standard error stays: 2 of 3 and 1 of 3 spread alike)
    assert moved == {"expl_soup,none", "expl_soup_stderr,none", "expl_valid,none", "expl_truncated,none",
                     "expl_truncated_stderr,none"}, moved
    assert [plain(read_result(r["filtered_resps"][0]))["kind"] for r in _logged(tmp_path, task)] == \
        ["soup", "soup", "valid"]


def test_an_nle_sim_42_run_has_its_restatements_rescored(tmp_path):
    """nle_sim 4.3: an explanation with no word but its labels', claim's and the task's (the 1.5B gptq-4's HealthFC
    document 7, logged ``valid`` by 4.2) restates; one that names what the evidence shows stays valid."""
    from qxbench.probes.selfexplain import Explanation

    task = "nle_sim_healthfc"
    doc = {"text": "Does Damiana extract help with erectile dysfunction?",
           "context": "No studies on Damiana and erectile dysfunction could be found.",
           "choices": ["supported", "not enough information", "refuted"], "label": 1, "input_name": "Claim",
           "context_name": "Evidence", "label_name": "Verdict", "explanations": ["no studies were found"]}
    said = ("The evidence does not provide enough information to determine if Damiana extract helps with erectile "
            "dysfunction.")
    real = "No study of Damiana and erectile dysfunction could be found."

    def ex(text: str) -> Explanation:
        return Explanation(pred=1, explanation=text, kind="valid", capped=False, inserted="", inserted_pred=1,
                           inserted_explanation="", prompts="instruct-1", pred_again=1)

    path = write_run(tmp_path, [(doc, ex(said)), (doc, ex(real))], task=task, version=4.2)
    [done] = rescore(path)
    assert done.changed == ((0, "valid", "restates"),) and (done.old, done.new) == (4.2, 4.5)
    after = json.loads(path.read_text())["results"][task]
    assert after["expl_restates,none"] == 0.5 and after["expl_valid,none"] == 0.5


def _same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, abs_tol=1e-12)
    return a == b


def test_a_metric_the_new_version_adds_enters_every_row_and_the_results_as_a_fresh_run_lists_it(tmp_path):
    """A 4.2 run logged no ``rewrite_soup``: rescored to 4.6, every document gets it (0 here: no soup), and the
    results file its aggregate, its metric_list entry and its direction, even though no answer changed kind."""
    import gzip

    path = write_run(tmp_path, [DOCS[1], DOCS[2]], version=4.2)
    rows = _logged(tmp_path)
    for row in rows:
        del row["rewrite_soup"]
        row["metrics"].remove("rewrite_soup")
    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    data = json.loads(path.read_text())
    del data["results"][TASK]["rewrite_soup,none"], data["results"][TASK]["rewrite_soup_stderr,none"]
    path.write_text(json.dumps(data))
    [done] = rescore(path)
    assert done.changed == () and done.added == ("rewrite_soup",) and done.metrics == {}
    after = json.loads(path.read_text())
    assert after["results"][TASK]["rewrite_soup,none"] == 0.0 and after["versions"][TASK] == 4.6
    assert {"metric": "rewrite_soup", "aggregation": "mean", "higher_is_better": False} in \
        after["configs"][TASK]["metric_list"]
    assert after["higher_is_better"][TASK]["rewrite_soup"] is False
    assert [(r["rewrite_soup"], r["metrics"][-1]) for r in _logged(tmp_path)] == [(0.0, "rewrite_soup")] * 2


def test_many_changes_are_counted_by_kind_in_the_command_s_line(tmp_path, capsys):
    doc, _ = DOCS[1]
    write_run(tmp_path, [(doc, _cf(SOUP, "valid", 0))] * 6 + [(doc, _cf(REFUSAL, "valid", 1))], version=4.2)
    assert main(["rescore", str(tmp_path), "--check"]) == 0
    out = capsys.readouterr().out
    assert f"{TASK} 4.2 -> 4.6: 7 answers changed kind (valid -> soup 6, valid -> meta 1); " in out, out


def test_an_unchanged_answer_keeps_its_logged_values_to_the_last_bit(tmp_path):
    """A value reproduced within float32 rounding is the logged one, in the row and in the aggregate."""
    import gzip

    path = write_run(tmp_path, version=4.2)
    rows = _logged(tmp_path)
    rows[1]["minimality"] += 6e-8  # as if logged on another thread count
    with gzip.open(tmp_path / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    rescore(path)
    assert _logged(tmp_path)[1]["minimality"] == rows[1]["minimality"]
    assert json.loads(path.read_text())["results"][TASK]["minimality,none"] == rows[1]["minimality"]  # one flip


def test_the_help_names_every_step_from_steps_and_what_it_reads_anew(capsys):
    assert READS.keys() == STEPS.keys()
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert describe(reads=True) in text
    for fam, (olds, new) in STEPS.items():
        assert f"{fam} {'/'.join(map(str, olds))} -> {new}: {READS[fam]}" in describe(reads=True)


def test_a_cf_flip_44_run_has_a_rewrite_with_no_word_of_its_input_rescored_as_unrelated(tmp_path):
    """cf_flip 4.5: a new text with no word of a 5+-word input ('disappointed' for the 0.5B gptq-4's review,
    read ``valid`` by 4.4 and a flip) is no edit; the real edit beside it keeps its flip."""
    doc, _ = DOCS[1]
    path = write_run(tmp_path, [(doc, _cf("disappointed", "valid", 0)), DOCS[1]], version=4.4)
    [done] = rescore(path)
    assert done.changed == ((0, "valid", "unrelated"),) and (done.old, done.new) == (4.4, 4.6)
    res = json.loads(path.read_text())["results"][TASK]
    assert res["rewrite_unrelated,none"] == 0.5 and res["flip_rate,none"] == 0.5 and res["n_valid_flips,none"] == 1


def test_a_cf_flip_45_run_has_the_input_with_a_label_added_rescored_as_a_leak(tmp_path):
    """cf_flip 4.6: the input with a label added ('Does thyme help against cough? not enough information', the
    0.5B gptq-4's HealthFC answer) flipped under 4.5; rescored, it is a leak and flips nothing."""
    doc, _ = DOCS[1]
    path = write_run(tmp_path, [(doc, _cf(f"{doc['text']} negative", "valid", 0)), DOCS[1]], version=4.5)
    [done] = rescore(path)
    assert done.changed == ((0, "valid", "leak"),) and (done.old, done.new) == (4.5, 4.6)
    res = json.loads(path.read_text())["results"][TASK]
    assert res["rewrite_leak,none"] == 0.5 and res["flip_rate,none"] == 0.5 and res["n_valid_flips,none"] == 1
