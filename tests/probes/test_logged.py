"""What lm-eval logs per document (schema 1) and the one reader of it: every record round-trips through
its log text, every committed run still reads (migration), and a tampered line is refused in one line."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

from qxbench.probes.attribution import Attribution
from qxbench.probes.codec import Invalid
from qxbench.probes.legacy import Counterfactual3, Explanation3
from qxbench.probes.logged import RECORDS, SCHEMA, log_text, read_result
from qxbench.probes.neurons import CorpusStats, NeuronLog, NeuronResult
from qxbench.probes.results import MemorizeLog, MemorizeResult, MultiHopResult, NextToken
from qxbench.probes.salient import Salient
from qxbench.probes.selfexplain import Counterfactual, Explanation, Inserted

RUNS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "runs"

ANSWERS = [
    Counterfactual(0, 1, 'Review: "x"\n', "valid", "x", 1, 12.5, None, math.inf, ref_pred=0, rewrite_prompt="Rewrite"),
    Counterfactual(1, 0, "", "empty", "", None, math.nan, math.nan, math.nan),
    Explanation(1, "It's \"warm\".", "valid", False, "awful", 0, "bad", (Inserted("awful", 2, 0, "bad"),
                                                                         Inserted("nice", 0, 1, None)), "instruct-1"),
    MemorizeResult("Paris", Attribution(5, 7, -0.25, 2, [0.5, 1.0], [0.1, 0.2], [(1, 3, 0.9), (0, 2, 0.4)],
                                        {0.5: 1}, 2, 64), 1, 0.5, {"norm": "fixed"}, True),
    MultiHopResult([-9.0, -5.5], -0.75, {"r1(e1)": "France"}),
    NextToken("choices", "yes", None, 0.75, True, {"mode": "choices"}, (0.75, 0.25)),
    NeuronResult((3, 4), (Salient({"sum": (1, 2), "avg": (1,), "max": (2,), "best_word": ()},
                                  {"sum": (1.0, 0.5), "avg": (0.5,), "max": (1.0,), "best_word": ()}, 2, 0),),
                 CorpusStats([0], [torch.ones(2)], 0.1, 4, [[1] * 10], [0.5], [2]), {"top": 3}),
]


def _record(answer):
    return answer.logged() if hasattr(answer, "logged") else answer


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: type(a).__name__)
def test_every_answer_is_logged_as_schema_1_and_read_back_as_its_record(answer):
    text = str(answer)
    data = json.loads(text)
    assert (data["schema"], data["type"]) == (SCHEMA, type(_record(answer)).__name__)
    assert (set(data) == {
        "schema", "type", "value"})
    back = read_result(text)
    assert type(back) is type(_record(answer))
    assert log_text(back) == text  # NaN-safe equality
    if "NaN" not in text:
        assert back == _record(answer)

def test_every_record_has_an_answer_in_the_round_trip():
    assert {type(_record(a)).__name__ for a in ANSWERS} == set(RECORDS)


def test_memorize_logs_what_it_logged_before():
    log = read_result(str(ANSWERS[3]))
    assert isinstance(log, MemorizeLog)
    assert log.tau == 0.4
    assert log.top300 == [(1, 3, 0.9), (0, 2, 0.4)]
    neurons = read_result(str(ANSWERS[6]))
    assert isinstance(neurons, NeuronLog)
    assert neurons.salient == {"0": {"best_word": [], "sum": [1, 2], "avg": [1], "max": [2]}}


def _tag(text: str, **change) -> str:
    data = json.loads(text)
    for key, value in change.items():
        if key in data:
            data[key] = value
        else:
            data["value"][key] = value
    return json.dumps(data)


@pytest.mark.parametrize(("text", "message"), [
    (_tag(str(ANSWERS[0]), schema="qxbench-result/2"), r"^schema: expected 'qxbench-result/1', found"),
    (_tag(str(ANSWERS[0]), type="Explanation"), r"^value: expected the fields of Explanation"),
    (_tag(str(ANSWERS[0]), type="os.system"), r"^type: expected one of Counterfactual, .*found 'os.system'"),
    (_tag(str(ANSWERS[0]), pred="1"), r"^value\.pred: expected int, found \"1\""),
    (_tag(str(ANSWERS[0]), kind="nonsense"), r"^value: Unknown rewrite kind 'nonsense'"),
    (str(ANSWERS[4]).replace('"cnst": -0.75, ', ""), r"^value: expected the fields of MultiHopResult"),
    (str(ANSWERS[4]).replace('"value"', '"data"'), r"^response: expected the keys schema, type, value"),
    ('{"entrec": [1.0]}', r"^response: untagged JSON with keys entrec is none of the records"),
    ("Explanation(pred=__import__('os').getpid(), explanation='')", r"^value\.pred: expected a literal, found Call"),
    ("print('x')", r"^response: not a logged repr"),
    ("Counterfactual(1, pred=1)", r"^response: not a logged repr"),  # positional arguments
    ("Counterfactual(**{'pred': 1})", r"^response: not a logged repr"),
    ("Counterfactual(pred=1)", r"^value: the keys pred fit no Counterfactual"),
    ("[1, 2", r"^response: neither JSON nor a logged repr"),
])
def test_a_tampered_answer_is_refused_in_one_line_naming_the_key(text, message):
    with pytest.raises(Invalid, match=message) as err:
        read_result(text)
    assert "\n" not in str(err.value)


def test_the_reprs_of_protocol_3_and_4_read_as_their_own_types():
    old = read_result("Counterfactual(pred=1, target=0, rewrite='x', rewrite_pred=None, ppl=nan, ref_ppl=-inf)")
    assert isinstance(old, Counterfactual3)
    assert math.isnan(old.ppl)
    assert old.ref_ppl == -math.inf
    four = read_result("Explanation(pred=1, explanation='e', kind='valid', capped=True, inserted='w', "
                       "inserted_pred=0, inserted_explanation='', insertions=(('w', 2, 0, None),))")
    assert isinstance(four, Explanation)
    assert four.insertions == (Inserted("w", 2, 0, None),)
    three = read_result("Explanation(pred=1, explanation='e', inserted='w', inserted_pred=0, "
                        "inserted_explanation='', insertions=(('w', 2, 0, None),), prompts='instruct-1')")
    assert isinstance(three, Explanation3)
    assert three.prompts == "instruct-1"


EXPECTED = {"calib": NextToken, "cf": Counterfactual3, "memorize": MemorizeLog, "multihop": MultiHopResult,
            "neurons": NeuronLog, "nle": Explanation3}


@pytest.mark.skipif(not RUNS.is_dir(), reason="no committed runs")
def test_a_sample_of_the_committed_runs_reads_through_the_migration():
    files = sorted(RUNS.glob("**/samples_*.jsonl.gz"))
    sample: dict[str, Path] = {}
    for file in files:  # one file of each task family
        sample.setdefault(file.name.removeprefix("samples_").split("_")[0], file)
    assert set(sample) == set(EXPECTED)
    for family, file in sample.items():
        with gzip.open(file, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        for row in rows:
            record = read_result(row["filtered_resps"][0])
            assert type(record) is EXPECTED[family], file
            assert type(read_result(row["resps"][0][0])) is EXPECTED[family]
