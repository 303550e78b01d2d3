"""calib: calibration metrics on hand-computed cases, the options, the data loaders, end-to-end runs
on the embedded model. Golden values of the reference: test_calib_golden.py."""

from __future__ import annotations

import json
import math
import random

import datasets
import pytest

from lm_eval_tasks.calib import data as calib_data
from lm_eval_tasks.calib.utils import (
    ace,
    boolq_docs,
    brier,
    ece,
    hellaswag_docs,
    load_boolq,
    load_msingh_boolq,
    load_msingh_piqa,
    piqa_docs,
    process_results,
)
from qxbench.errors import QxError
from qxbench.probes.nexttoken import NextTokenOptions, choice_continuations, substring_correct
from qxbench.probes.results import NextToken

from .conftest import evaluate


# -- metrics ------------------------------------------------------------------------------------
def test_ece_on_a_hand_made_case():
    # bin [0.9, 1.0]: acc .5, conf .95 -> .45 x 2/4;  bin [0.6, 0.7): acc 1, conf .65 -> .35 x 2/4
    items = [(0.95, 1.0), (0.95, 0.0), (0.65, 1.0), (0.65, 1.0)]
    assert ece(items) == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)
    assert ece([(0.95, 1.0, 7), (0.95, 0.0, 3), (0.65, 1.0, 0), (0.65, 1.0, 1)]) == ece(items)  # order is ignored
    assert ece([(1.0, 1.0)]) == 0.0  # confidence 1.0 falls in the last bin
    assert math.isnan(ece([]))


def test_ace_bins_and_divisor_follow_the_reference():
    items = [(0.1 * i, float(i % 2)) for i in range(1, 11)]  # ten documents, ten bins of one
    assert ace(items) == pytest.approx(sum(abs(k - c) for c, k in items) / 10)
    # n < 10: two non-empty bins, but the sum is still divided by 10 (ace.py:31)
    assert ace([(0.2, 1.0), (0.9, 1.0)]) == pytest.approx((0.8 + 0.1) / 10)
    # n = 12: 12 // 10 = 1 per bin, the 2 leftovers go to bins 0 and 1 (ace.py:20)
    items = [(0.05 * i, 1.0) for i in range(1, 13)]
    first_two = abs(1 - (0.05 + 0.10) / 2) + abs(1 - (0.15 + 0.20) / 2)
    rest = sum(abs(1 - 0.05 * i) for i in range(5, 13))
    assert ace(items) == pytest.approx((first_two + rest) / 10)
    assert math.isnan(ace([]))  # the reference returns 0.0 here (an empty sum / 10)


def test_ace_sorts_by_confidence_only_with_ties_in_document_order():
    blocks = [(0.5, 1.0)] * 10 + [(0.5, 0.0)] * 10  # 20 ties, correct ones first: bins of 2, all 1 or all 0
    alternating = [(0.5, float(i % 2 == 0)) for i in range(20)]  # every bin of 2 has accuracy 0.5
    assert ace(blocks) == pytest.approx(0.5)
    assert ace(blocks[::-1]) == pytest.approx(0.5)
    assert ace(alternating) == pytest.approx(0.0)  # sorting (confidence, correct) pairs would give 0.5
    # lm-eval may hand the items over in any order: the third element (the document's position) rules
    shuffled = [(c, k, i) for i, (c, k) in enumerate(alternating)]
    random.Random(0).shuffle(shuffled)
    assert ace(shuffled) == pytest.approx(0.0)


def test_ace_nan_confidence_is_skipped_by_the_confidence_mean_like_pandas():
    # pandas sorts NaN last and Series.mean() skips it; the accuracy mean still counts its row
    items = [(0.6, 1.0)] * 19 + [(math.nan, 0.0)]  # bins of 2; the last is (0.6, 1), (nan, 0)
    assert ace(items) == pytest.approx((9 * abs(1 - 0.6) + abs(0.5 - 0.6)) / 10)
    assert math.isnan(ace([(0.6, 1.0)] * 9 + [(math.nan, 0.0)]))  # a bin of only NaN: its mean is NaN


def test_brier_and_per_document_results():
    assert brier(0.8, True) == pytest.approx(0.04)
    assert brier(0.8, False) == pytest.approx(0.64)
    r = NextToken("free", "A", 49, 0.75, True, {"mode": "free"})
    out = process_results({"index": 4}, [r])
    assert out == {"acc": 1.0, "ace": (0.75, 1.0, 4), "ece": (0.75, 1.0, 4), "brier": 0.0625, "confidence": 0.75}
    logged = json.loads(str(r))  # the versioned per-document schema (qxbench.probes.logged)
    assert logged["schema"] == "qxbench-result/1"
    assert logged["value"]["prediction"] == "A"


# -- the answer rule and the options ----------------------------------------------------------------
def test_reference_correctness_is_a_case_insensitive_substring():
    assert substring_correct("A", "Answer")  # the reference's quirk, kept (0_softmax.py:48)
    assert substring_correct(" true ", " True")
    assert not substring_correct("True", "<|im_end|>")
    assert substring_correct("im_end", "<|im_end|>")  # special tokens are not skipped
    with pytest.raises(QxError, match="Empty gold answer"):
        substring_correct(" ", "anything")


def test_options_defaults_choices_and_typos():
    assert NextTokenOptions.from_metadata({"version": 2.0, "data_path": "x", "pretrained": "m", "model": "qx"}) == \
        NextTokenOptions("free", "substring", "model")
    assert NextTokenOptions.from_metadata({"mode": "choices"}).as_dict() == {"mode": "choices"}
    with pytest.raises(QxError, match=r"^Unknown calib mode 'choice'. Did you mean 'choices'\? "
                                      r"Available: choices, free$"):
        NextTokenOptions.from_metadata({"mode": "choice"})
    with pytest.raises(QxError, match=r"^Unknown calib option 'mdoe'. Did you mean 'mode'\?"):
        NextTokenOptions.from_metadata({"mdoe": "choices"})


# -- data -----------------------------------------------------------------------------------------
def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_msingh_csv_loader_applies_the_boolq_template_only(tmp_path):
    _csv(tmp_path / "boolq.csv", 'prompt,gold,split\nis water wet,True,train\n"two\nlines",False,validation\n')
    _csv(tmp_path / "piqa.csv", 'prompt,gold\n"Task: x\nAnswer:\n",B\n')
    boolq = load_msingh_boolq(data_path=str(tmp_path))["test"]  # a folder: <folder>/boolq.csv
    assert boolq[0] == {"prompt": "Respond with True or False only.\nis water wet\nAnswer:", "answer": "True",
                        "choices": ["True", "False"], "index": 0}
    assert boolq[1]["prompt"] == "Respond with True or False only.\ntwo\nlines\nAnswer:"
    assert boolq[1]["index"] == 1
    piqa = load_msingh_piqa(data_path=str(tmp_path / "piqa.csv"))["test"]  # the file itself
    assert piqa[0] == {"prompt": "Task: x\nAnswer:\n", "answer": "B", "choices": ["A", "B"], "index": 0}


def test_msingh_csv_problems_are_one_line(tmp_path):
    def error(text: str) -> str:
        with pytest.raises(QxError) as err:
            load_msingh_boolq(data_path=str(_csv(tmp_path / "boolq.csv", text)))
        assert "\n" not in str(err.value)
        return str(err.value)

    assert error("question,gold\nq,True\n").endswith("lacks the column 'prompt' (columns found: question, gold)")
    assert error("prompt,gold\nq,Yes\n").endswith("row 1 (line 2) has gold 'Yes'; boolq golds are True, False")
    assert error("prompt,gold\nq,\n").endswith("row 1 (line 2) has an empty gold")
    assert error("").endswith("boolq.csv' is empty")
    assert error("prompt,gold\nq,True,extra\n").endswith("line 2 has 3 fields, the header 2 (prompt, gold)")
    with pytest.raises(QxError, match=r"""^calib_msingh_boolq reads the study's CSV .*--metadata '\{"data_path": """):
        load_msingh_boolq()
    (tmp_path / "empty").mkdir()
    with pytest.raises(QxError, match="is a folder without piqa.csv"):
        load_msingh_piqa(data_path=str(tmp_path / "empty"))


def test_hub_offline_is_one_line_naming_the_local_option(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'google/boolq' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(QxError) as err:
        load_boolq()
    assert str(err.value) == (
        "Dataset 'google/boolq' could not be loaded from the Hub (Couldn't reach 'google/boolq' on the Hub "
        "(OfflineModeIsEnabled)): pass a local copy of its validation split with "
        "--metadata '{\"data_path\": \"/path/to/boolq.jsonl\"}'")


def test_hub_variant_reads_a_local_copy(tmp_path):
    rows = [{"question": "is it", "passage": "It is.", "answer": True},
            {"question": "is it not", "passage": "It is.", "answer": False}]
    path = tmp_path / "boolq.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    docs = boolq_docs(load_boolq(data_path=str(path))["test"])
    assert [d["answer"] for d in docs] == ["yes", "no"]
    assert docs[1]["index"] == 1
    with pytest.raises(QxError, match=r"^Unknown data_path format"):
        load_boolq(data_path=str(_csv(tmp_path / "boolq.txt", "x")))
    assert calib_data.LOCAL_FORMATS[".csv"] == "csv"


def test_real_data_adapters_on_local_stand_ins():
    boolq = boolq_docs(datasets.Dataset.from_list([{"question": "is it", "passage": "It is.", "answer": "False"}]))
    assert boolq[0] == {"prompt": "It is.\nQuestion: is it?\nAnswer:", "answer": "no", "choices": ["yes", "no"],
                        "index": 0}
    piqa = piqa_docs(datasets.Dataset.from_list([{"goal": "Open a jar", "sol1": "twist", "sol2": "bite", "label": 0}]))
    assert piqa[0] == {"prompt": "Question: Open a jar\nA. twist\nB. bite\nAnswer:", "answer": "A",
                       "choices": ["A", "B"], "index": 0}
    rows = [{"ctx": "x", "endings": ["a", "b", "c", "d"], "label": ""},  # the test split has no labels
            {"ctx": "He sat", "endings": ["down", "up", "in", "out"], "label": "2"}]
    hs = hellaswag_docs(datasets.Dataset.from_list(rows))
    assert len(hs) == 1
    assert hs[0]["answer"] == "C"
    assert hs[0]["prompt"].endswith("D. out\nAnswer:")
    assert hs[0]["choices"] == ["A", "B", "C", "D"]
    assert hs[0]["index"] == 0
    with pytest.raises(QxError, match="'google/boolq' is missing required field 'passage'"):
        boolq_docs(datasets.Dataset.from_list([{"question": "q", "answer": True}]))


# -- on the embedded model --------------------------------------------------------------------------
def test_choice_tokens_continue_the_prompt_tokens(qx_lm):
    context, conts = choice_continuations(qx_lm, "Review: good\nSentiment:", ["positive", "negative"])
    assert context == qx_lm.tok_encode("Review: good\nSentiment:")
    assert conts[0] == qx_lm.tok_encode("Review: good\nSentiment: positive")[len(context):]
    _, conts = choice_continuations(qx_lm, "Answer:\n", ["A", "B"])  # no space after trailing whitespace
    assert qx_lm.tokenizer.decode(conts[0]) == "A"
    with pytest.raises(QxError, match="at least two distinct choices"):
        choice_continuations(qx_lm, "x", ["A", "A"])


def test_multi_token_choices_score_like_lm_eval_loglikelihood(qx_lm):
    from lm_eval.api.instance import Instance

    from qxbench.probes.nexttoken import _sequence_scores

    prompt, options = "The capital of Loumfusland is", ["Thethiburg", "Kairtunburg"]
    context, conts = choice_continuations(qx_lm, prompt, options)
    mine = _sequence_scores(qx_lm, context, conts)
    theirs = [ll for ll, _ in qx_lm.loglikelihood(
        [Instance("loglikelihood", {}, (prompt, " " + o), 0) for o in options], disable_tqdm=True)]
    assert mine == pytest.approx(theirs, abs=1e-4)


@pytest.mark.slow
def test_end_to_end_on_the_embedded_world(qx_lm):
    out = evaluate(qx_lm, ["calib"], limit=8)
    res = out["results"]["calib"]
    assert res["acc,none"] == 1.0
    assert 0.9 < res["confidence,none"] <= 1.0
    assert 0 <= res["ace,none"] < 0.1
    assert 0 <= res["ece,none"] < 0.1
    meta = out["configs"]["calib"]["metadata"]  # every definition is recorded with the results
    assert (meta["version"], meta["mode"], meta["match"], meta["softmax_dtype"]) == \
        (2.0, "free", "first_token", "model")


@pytest.mark.slow
def test_both_modes_in_one_run_on_a_study_csv(qx_lm, tmp_path):
    _csv(tmp_path / "boolq.csv", "prompt,gold\nis water wet,True\nis fire cold,False\nis ice cold,True\n")
    out = evaluate(qx_lm, ["calib_msingh_boolq", "calib_msingh_boolq_choices"], metadata={"data_path": str(tmp_path)},
                   log_samples=True)
    free = [s["resps"][0][0] for s in out["samples"]["calib_msingh_boolq"]]
    chosen = [s["resps"][0][0] for s in out["samples"]["calib_msingh_boolq_choices"]]
    assert [r.mode for r in free] == ["free"] * 3
    assert [r.mode for r in chosen] == ["choices"] * 3
    assert all(r.prediction in ("True", "False") and sum(r.choice_probs) == pytest.approx(1) for r in chosen)
    assert all(r.confidence == max(r.choice_probs) >= 0.5 for r in chosen)
    assert out["results"]["calib_msingh_boolq_choices"]["acc,none"] == pytest.approx(
        sum(r.correct for r in chosen) / 3)
    assert out["configs"]["calib_msingh_boolq_choices"]["metadata"]["mode"] == "choices"


@pytest.mark.slow
def test_answer_set_mode_credits_a_model_that_knows_the_answers(qx_lm):
    out = evaluate(qx_lm, ["calib"], limit=8, metadata={"mode": "choices"}, log_samples=True)  # 8 reviews
    answers = [s["resps"][0][0] for s in out["samples"]["calib"]]
    assert out["results"]["calib"]["acc,none"] == 1.0
    assert all(r.prediction in ("negative", "positive") and r.confidence > 0.9 for r in answers)


def test_mode_choices_without_an_answer_set_is_one_line(qx_lm):
    with pytest.raises(QxError, match=r"^calib with mode=choices needs an answer set, but document 400 \("
                                      r"'The capital of Loumfusland is'\) has choices \[\]; use mode=free$"):
        evaluate(qx_lm, ["calib"], metadata={"mode": "choices"})


@pytest.mark.slow
def test_offline_hub_variant_ends_in_one_line(tmp_path):
    from tests.conftest import console_script, run_cli

    out = run_cli([console_script("lm_eval"), "--model", "qx", "--tasks", "calib_boolq", "--limit", "1",
                   "--device", "cpu"], cwd=tmp_path, env={"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(
        "lm_eval: error: Dataset 'google/boolq' could not be loaded from the Hub (")
    assert out.stderr.strip().splitlines()[-1].endswith("""--metadata '{"data_path": "/path/to/boolq.jsonl"}'""")
