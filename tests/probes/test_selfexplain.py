from __future__ import annotations

import math

import pytest
import torch

from qxbench.data.classify import ESNLI_LABELS
from qxbench.engine.chat import Chat
from qxbench.engine.generate import Generated
from qxbench.probes import selfexplain
from qxbench.probes.prompts import PromptSet
from qxbench.probes.selfexplain import Reference, counterfactuals, explanations
from tests.probes.fakes import Judge, Templated, esnli_doc


def test_esnli_counterfactual_rewrites_the_hypothesis_and_keeps_the_premise(monkeypatch):
    doc = esnli_doc()
    asked = []
    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: asked.extend(prompts) or
                        ["A man plays music."] * len(prompts))
    lm = Judge({"sleeps": "contradiction", "music": "entailment"})
    (cf,) = counterfactuals(lm, [doc], prompts=PromptSet("instruct-1"))
    assert cf.rewrite == "A man plays music."
    assert ESNLI_LABELS[cf.rewrite_pred] == "entailment"
    assert "rewrite only the hypothesis" in asked[0]
    assert "Premise: A man plays a guitar on stage." in asked[0]
    rewrite_prompts = [p for p in lm.seen if "Hypothesis: A man plays music." in p]
    assert rewrite_prompts
    assert all("Premise: A man plays a guitar on stage.\nHypothesis: A man plays music." in p
               for p in rewrite_prompts)  # re-classified with the premise, unchanged


def test_flip_rate_ref_is_judged_by_the_reference_not_the_quantized_model(monkeypatch):
    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: ["A man plays music."] * len(prompts))
    quantized = Judge({"sleeps": "contradiction", "music": "contradiction"})  # misses the rewrite's entailment
    reference = Judge({"sleeps": "contradiction", "music": "entailment"})
    (cf,) = counterfactuals(quantized, [esnli_doc()], reference=Reference(reference), prompts=PromptSet("instruct-1"))
    assert cf.rewrite_pred == cf.pred  # self-judged: no flip
    assert cf.ref_pred == ESNLI_LABELS.index("contradiction")
    assert cf.ref_rewrite_pred == ESNLI_LABELS.index("entailment")
    (same,) = counterfactuals(reference, [esnli_doc()], reference=Reference(reference, is_config=True),
                             prompts=PromptSet("instruct-1"))
    assert same.ref_rewrite_pred == same.rewrite_pred  # full precision judges itself


class KeptJudge(Judge):
    """A Judge with a checkpoint identity, as a full-precision qx model has: its input scores are kept."""

    model = torch.nn.Linear(1, 1)
    fingerprint = "f"

    def cache_identity(self):
        return {"qxbench": "test", "model": "judge", "fingerprint": self.fingerprint}


def test_the_reference_reads_the_inputs_labels_full_precision_kept_and_classifies_only_the_rewrites(
        monkeypatch, tmp_path):
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: ["A man plays music."] * len(prompts))
    cues = {"sleeps": "contradiction", "music": "entailment"}
    docs, prompts = [esnli_doc()], PromptSet("instruct-1")
    counterfactuals(KeptJudge(cues), docs, reference=Reference(), prompts=prompts)  # no reference: nothing kept
    assert not (tmp_path / "labels").exists()
    fp = KeptJudge(cues)
    # the full-precision config keeps its input scores
    counterfactuals(fp, docs, reference=Reference(fp, is_config=True), prompts=prompts)
    assert len(list((tmp_path / "labels").iterdir())) == 1
    quantized, reference = Judge({"sleeps": "neutral"}), KeptJudge(cues)  # the quantized config's reference
    (cf,) = counterfactuals(quantized, docs, reference=Reference(reference), prompts=prompts)
    assert not [p for p in reference.seen if "Hypothesis: A man sleeps." in p]  # read back, not classified
    assert [p for p in reference.seen if "Hypothesis: A man plays music." in p]
    assert (cf.ref_pred, cf.ref_rewrite_pred) == (ESNLI_LABELS.index("contradiction"), ESNLI_LABELS.index("entailment"))
    for kept in (tmp_path / "labels").iterdir():
        kept.write_text("[0.0]")  # not one score per label: classified again
    again = KeptJudge(cues)
    counterfactuals(quantized, docs, reference=Reference(again), prompts=prompts)
    assert [p for p in again.seen if "Hypothesis: A man sleeps." in p]
    other = KeptJudge(cues)
    other.fingerprint = "another checkpoint"
    (again,) = counterfactuals(quantized, docs, reference=Reference(other), prompts=prompts)
    assert [p for p in other.seen if "Hypothesis: A man sleeps." in p]  # nothing kept for it: classified
    assert (again.ref_pred, again.ref_rewrite_pred) == (cf.ref_pred, cf.ref_rewrite_pred)


def test_only_insertions_that_changed_the_prediction_are_re_explained(monkeypatch):
    asked = []
    monkeypatch.setattr(selfexplain, "generate_answers", lambda lm, prompts, *a, **k: asked.extend(prompts) or
                        [Generated(f"because {i}", False) for i in range(len(prompts))])
    doc = {**esnli_doc("A man sleeps now."), "insert_words": ["quietly", "loudly", "never", "sad", "tall", "young"]}
    lm = Judge({"never": "entailment", "sleeps": "contradiction"})
    (ex,) = explanations(lm, [doc], PromptSet("instruct-1"), words=3, positions=2)
    assert len(ex.insertions) == 6
    changed = [i for i in ex.insertions if i.pred != ex.pred]
    assert {i.word for i in changed} == {"never"}
    assert len(changed) == 1  # adverbs go before "sleeps" only
    assert all(i.explanation for i in changed)
    assert all(i.explanation is None for i in ex.insertions if i not in changed)
    assert len(asked) == 1 + len(changed)
    assert [i.prompt for i in changed] == asked[1:], "a re-explanation prompt is not logged as sent"
    assert "never" in changed[0].prompt, "the logged re-explanation prompt is not the changed input's"
    assert all(i.prompt == "" for i in ex.insertions if i not in changed), "a prompt logged that was never sent"
    assert ex.inserted == "never"
    assert ex.inserted_pred != ex.pred
    assert ex.inserted_explanation  # the first change
    from qxbench.probes.logged import read_result

    logged = read_result(str(ex))  # what lm-eval logs reads back as the same answer
    assert logged == ex
    assert logged.inserted == "never"
    assert len(logged.insertions) == 6
    assert logged.prompts == "instruct-1"


def test_the_judge_formats_the_prompts_with_its_own_template_and_no_model_keeps_chat_state(monkeypatch):
    """Per-run state passed explicitly (issue 40): the chat settings travel with the prompt set, each model
    formats them with its own template, and nothing is set on either model object."""
    class Other(Templated):
        def apply_chat_template(self, messages):
            return f"[judge]{messages[-1]['content']}[/judge]"

    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: ["A man plays music."] * len(prompts))
    model, judge = Templated({"sleeps": "contradiction"}), Other({"sleeps": "contradiction"})
    before = (dict(vars(model)), dict(vars(judge)))
    (cf,) = counterfactuals(model, [esnli_doc()], reference=Reference(judge),
                           prompts=PromptSet("instruct-1", chat=Chat(True)))
    assert model.seen and all(p.startswith("<user>") for p in model.seen), "the model did not read its own template"
    assert judge.seen and all(p.startswith("[judge]") for p in judge.seen), "the judge did not read its own template"
    assert cf.rewrite_prompt.startswith("<user>")
    assert cf.rewrite_prompt.endswith("</user><assistant>")
    assert {k: v for k, v in vars(model).items() if k != "seen"} == {k: v for k, v in before[0].items() if k != "seen"}
    assert {k: v for k, v in vars(judge).items() if k != "seen"} == {k: v for k, v in before[1].items() if k != "seen"}


def test_a_rewrite_cap_is_twice_the_edited_part_plus_16_at_most_rewrite_tokens():
    from qxbench.probes.selfexplain import rewrite_cap

    assert rewrite_cap(Judge({}), "a b c") == 2 * 3 + 16
    assert rewrite_cap(Judge({}), "w " * 90) == 96


# -- protocol 4: every answer read (qxbench.probes.answers) -------------------------------------------------
class Fluent(Judge):
    """A Judge whose rolling log-likelihood is ``-nll`` per word (perplexity e**nll) and records what it scored."""

    def __init__(self, cues: dict[str, str], nll: float = 1.0) -> None:
        super().__init__(cues)
        self.nll, self.scored = nll, []

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        self.scored += [r.args[0] for r in requests]
        return [-self.nll * len(r.args[0].split()) for r in requests]


CUES = {"sleeps": "contradiction", "music": "entailment"}
ANSWERS = ["Rewritten hypothesis: A man plays music.",  # valid, flips contradiction -> entailment
           "A man sleeps soundly.",  # valid, no flip
           "Relation: entailment"]  # a leak: announces the label instead of editing


def _three(monkeypatch):
    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: ANSWERS[:len(prompts)])
    return [esnli_doc("A man sleeps."), esnli_doc("A man sleeps now."), esnli_doc("The man sleeps.")]


def test_every_rewrite_is_read_and_only_valid_rewrites_are_classified(monkeypatch):
    docs = _three(monkeypatch)
    lm, reference = Fluent(CUES), Fluent(CUES, nll=2.0)
    cfs = counterfactuals(lm, docs, reference=Reference(reference), prompts=PromptSet("instruct-1"))
    assert [cf.kind for cf in cfs] == ["valid", "valid", "leak"]
    assert [cf.answer for cf in cfs] == ANSWERS
    assert cfs[0].rewrite == "A man plays music."  # the cue dropped
    assert cfs[2].rewrite_pred is None
    assert cfs[2].ref_rewrite_pred is None  # a leak is not classified ...
    for judge in (lm, reference):  # ... by either judge
        assert not [p for p in judge.seen if "Hypothesis: entailment" in p]
        assert [p for p in judge.seen if "Hypothesis: A man plays music." in p]
    assert [ESNLI_LABELS[cf.rewrite_pred] for cf in cfs[:2]] == ["entailment", "contradiction"]
    assert all('Rewrite the hypothesis so that the relation becomes "' in cf.rewrite_prompt for cf in cfs)


def test_perplexities_are_measured_on_valid_flips_only_the_input_under_the_judge(monkeypatch):
    docs = _three(monkeypatch)
    lm, reference = Fluent(CUES), Fluent(CUES, nll=2.0)
    flip, same, leak = counterfactuals(lm, docs, reference=Reference(reference), prompts=PromptSet("instruct-1"))
    assert flip.ppl == pytest.approx(math.e)
    assert flip.ref_ppl == pytest.approx(math.e ** 2)
    assert flip.input_ppl == pytest.approx(math.e ** 2)  # the reference judges the input too
    assert lm.scored == ["A man plays music."]
    assert reference.scored == ["A man plays music.", "A man sleeps."]
    for cf in (same, leak):
        assert math.isnan(cf.ppl)
        assert math.isnan(cf.ref_ppl)
        assert math.isnan(cf.input_ppl)
    alone = Fluent(CUES)  # no reference: the model judges the input
    (flip, *_) = counterfactuals(alone, docs, reference=Reference(), prompts=PromptSet("instruct-1"))
    assert flip.ref_ppl is None
    assert flip.input_ppl == pytest.approx(math.e)
    assert alone.scored == ["A man plays music.", "A man sleeps."]


def test_a_result_of_an_unknown_kind_is_one_line_naming_the_kinds():
    from qxbench.errors import QxError

    with pytest.raises(QxError, match="Unknown rewrite kind 'leaks'.*valid"):
        selfexplain.Counterfactual(0, 1, "x", "leaks", "x", None, math.nan, None, math.nan)
    with pytest.raises(QxError, match="Unknown explanation kind 'good'.*truncated"):
        selfexplain.Explanation(0, "x", "good", False, "", 0, "")


@pytest.mark.parametrize(("capped", "kind"), [(True, "truncated"), (False, "valid")])
def test_an_explanation_is_read_with_whether_generation_hit_its_cap(monkeypatch, capped, kind):
    said = "The relation is a contradiction because the man on stage"  # "stage": the premise's, a reason so far
    first, rest = Generated(said, capped), Generated("x", False)
    monkeypatch.setattr(selfexplain, "generate_answers",
                        lambda lm, prompts, *a, **k: [first] + [rest] * (len(prompts) - 1))
    (ex,) = explanations(Judge({"sleeps": "contradiction"}), [{**esnli_doc(), "insert_words": ["never"]}],
                         PromptSet("instruct-1"), words=1, positions=1)
    assert (ex.explanation, ex.kind, ex.capped) == (said, kind, capped)
    assert ex.explain_prompt.endswith("Answer with the explanation only.\nExplanation:")
    from qxbench.probes.logged import read_result

    logged = read_result(str(ex))
    assert (logged.kind, logged.capped, logged.explain_prompt) == (kind, capped, ex.explain_prompt)
