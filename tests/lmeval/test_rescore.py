"""qxbench.lmeval.rescore: a cf_flip 4.1 run rescored under 4.2's reader from its samples, no model run.

The run is built here as lm-eval writes one (results JSON, a samples file of schema-1 answers, the aggregates
of the task's own ``process_results``), three SST-2 documents: Qwen2.5's refusal logged as a valid flip (as
the committed 1.5B rtn-4 run logged it), a real flip and a copy.
"""

from __future__ import annotations

import json
import math

import pytest

from qxbench.cli import main
from qxbench.errors import QxError
from qxbench.lmeval.rescore import _aggregate, _task_config, rescore
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


def write_run(folder, docs=DOCS, version=4.1):
    """A results file and its gzipped samples, as lm-eval writes them at ``version``."""
    config = _task_config(TASK)
    rows, per_doc = [], []
    for doc_id, (doc, cf) in enumerate(docs):
        metrics = config["process_results"](doc, [cf])
        per_doc.append(metrics)
        text = str(cf)
        rows.append(json.dumps({"doc_id": doc_id, "doc": doc, "target": "", "resps": [[text]], "filtered_resps": [text],
                                "filter": "none", "metrics": sorted(metrics), **metrics}, ensure_ascii=False))
    import gzip

    with gzip.open(folder / f"samples_{TASK}_{STAMP}.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    results = {"results": {TASK: {"alias": TASK, **_aggregate(config, per_doc, 100000)}},
               "versions": {TASK: version}, "configs": {TASK: {"task": TASK, "metadata": {"version": version}}},
               "config": {"bootstrap_iters": 100000}}
    path = folder / f"results_{STAMP}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return path


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _logged(folder):
    import gzip

    with gzip.open(folder / f"samples_{TASK}_{STAMP}.jsonl.gz", "rt", encoding="utf-8") as f:
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
    assert after["versions"][TASK] == 4.2 and after["configs"][TASK]["metadata"]["version"] == 4.2
    assert after["qx_rescored"] == [{"task": TASK, "from": 4.1, "to": 4.2, "by": "qxbench.lmeval.rescore",
                                     "changed": [{"doc_id": 0, "from": "valid", "to": "meta"}]}]
    rows = _logged(tmp_path)
    answer = plain(read_result(rows[0]["filtered_resps"][0]))
    assert answer["kind"] == "meta" and answer["rewrite_pred"] is None and math.isnan(answer["ppl"])
    assert rows[0]["flip_rate"] == 0.0 and rows[0]["rewrite_meta"] == 1.0
    assert rows[1]["flip_rate"] == 1.0  # the real flip is kept
    assert rescore(path) == []  # at 4.2 now: nothing to do


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
    assert f"{TASK} 4.1 -> 4.2: doc 0: valid -> meta; " in out and "flip_rate 0.6667 -> 0.3333" in out
    assert out.strip().endswith("1 task(s) would be rescored (--check: nothing written) in 1 results file(s) "
                                "(cf_flip 4.1 -> 4.2)")
    assert main(["rescore", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"qxbench: error: '{tmp_path / 'nowhere'}' is neither a results file nor a folder"]
