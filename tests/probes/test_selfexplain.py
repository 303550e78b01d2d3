from __future__ import annotations

import math

import pytest
import torch
from lm_eval.api.instance import Instance

from qxbench.data.classify import ESNLI_LABELS, esnli
from qxbench.metrics.shared import nanmean
from qxbench.probes import selfexplain
from qxbench.probes.chat import Chat
from qxbench.probes.prompts import PromptSet
from qxbench.probes.selfexplain import argmax, classify, counterfactuals, explanations, perplexities, runner_up


def test_runner_up_is_the_best_other_label():
    assert argmax([-3.0, -1.0, -2.0]) == 1
    assert runner_up([-3.0, -1.0, -2.0]) == 2
    assert runner_up([-1.0, -1.0]) == 1  # a tie: never the prediction itself


def test_perplexity_is_nan_for_an_empty_text_and_exp_of_mean_nll_otherwise():
    class Fake:
        def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False):
            return [-2.0 * len(r.args[0].split()) for r in requests]

        def tok_encode(self, text: str):
            return text.split()

    out = perplexities(Fake(), ["a b c", "", "   "])
    assert out[0] == math.exp(2.0)
    assert math.isnan(out[1])
    assert math.isnan(out[2])


def test_nanmean_skips_undefined_values():
    assert nanmean([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(nanmean([math.nan]))
    assert math.isnan(nanmean([]))


class Judge:
    """A fake lm-eval LM: the label named by the first of ``cues`` found in the prompt's last input
    line wins (its log-likelihood is 0, the others -5); every classification prompt is recorded."""

    def __init__(self, cues: dict[str, str], default: str = "neutral") -> None:
        self.cues, self.default, self.seen = cues, default, []

    def _label(self, prompt: str) -> str:
        line = [x for x in prompt.splitlines() if x.startswith("Hypothesis:") or x.startswith("Review:")][-1]
        return next((label for cue, label in self.cues.items() if cue in line), self.default)

    def loglikelihood(self, requests, disable_tqdm=False):
        self.seen += [r.args[0] for r in requests]
        return [(0.0 if r.args[1].strip() == self._label(r.args[0]) else -5.0, False) for r in requests]

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        return [-1.0 for _ in requests]

    def tok_encode(self, text):
        return text.split()


def _esnli_doc(hypothesis="A man sleeps."):
    return esnli({"premise": "A man plays a guitar on stage.", "hypothesis": hypothesis, "label": 2,
                  "explanation_1": "Playing is not sleeping."})


def test_esnli_counterfactual_rewrites_the_hypothesis_and_keeps_the_premise(monkeypatch):
    doc = _esnli_doc()
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
    (cf,) = counterfactuals(quantized, [_esnli_doc()], reference=reference, prompts=PromptSet("instruct-1"))
    assert cf.rewrite_pred == cf.pred  # self-judged: no flip
    assert cf.ref_pred == ESNLI_LABELS.index("contradiction")
    assert cf.ref_rewrite_pred == ESNLI_LABELS.index("entailment")
    (same,) = counterfactuals(reference, [_esnli_doc()], reference=reference, prompts=PromptSet("instruct-1"))
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
    docs, prompts = [_esnli_doc()], PromptSet("instruct-1")
    counterfactuals(KeptJudge(cues), docs, reference=None, prompts=prompts)  # no reference: nothing kept
    assert not (tmp_path / "labels").exists()
    fp = KeptJudge(cues)
    counterfactuals(fp, docs, reference=fp, prompts=prompts)  # the full-precision config keeps its input scores
    assert len(list((tmp_path / "labels").iterdir())) == 1
    quantized, reference = Judge({"sleeps": "neutral"}), KeptJudge(cues)  # the quantized config's reference
    (cf,) = counterfactuals(quantized, docs, reference=reference, prompts=prompts)
    assert not [p for p in reference.seen if "Hypothesis: A man sleeps." in p]  # read back, not classified
    assert [p for p in reference.seen if "Hypothesis: A man plays music." in p]
    assert (cf.ref_pred, cf.ref_rewrite_pred) == (ESNLI_LABELS.index("contradiction"), ESNLI_LABELS.index("entailment"))
    for kept in (tmp_path / "labels").iterdir():
        kept.write_text("[0.0]")  # not one score per label: classified again
    again = KeptJudge(cues)
    counterfactuals(quantized, docs, reference=again, prompts=prompts)
    assert [p for p in again.seen if "Hypothesis: A man sleeps." in p]
    other = KeptJudge(cues)
    other.fingerprint = "another checkpoint"
    (again,) = counterfactuals(quantized, docs, reference=other, prompts=prompts)
    assert [p for p in other.seen if "Hypothesis: A man sleeps." in p]  # nothing kept for it: classified
    assert (again.ref_pred, again.ref_rewrite_pred) == (cf.ref_pred, cf.ref_rewrite_pred)


class Lengthy(Judge):
    def loglikelihood(self, requests, disable_tqdm=False):
        return [(-1.0 * len(r.args[1]), False) for r in requests]  # log-likelihood proportional to length


def test_acc_norm_divides_by_the_choice_length_where_a_label_spans_several_tokens():
    doc = {**_esnli_doc(), "choices": ["a", "bb bb bb"]}  # Judge's tokens are words: the second is 3 tokens
    raw = classify(Lengthy({}), [{**doc, "normalise": False}])[0]
    norm = classify(Lengthy({}), [doc])[0]
    assert argmax(raw) == 0
    assert norm[0] == pytest.approx(-2.0)
    assert norm[1] == pytest.approx(-9 / 8)


def test_single_token_labels_are_scored_by_their_plain_log_likelihood():
    """Every label one token: dividing by characters would only be a length prior (cf_flip/nle_sim 4.0)."""
    doc = {**_esnli_doc(), "choices": ["a", "bbbbbbbb"]}  # one token each
    assert classify(Lengthy({}), [doc])[0] == [-2.0, -9.0]
    assert not selfexplain.per_character(Lengthy({}), "Relation:", ["a", "bbbbbbbb"])
    assert selfexplain.per_character(Lengthy({}), "Relation:", ["a", "not enough information"])

    class Paired(Lengthy):  # an lm-eval LM: the continuation's own tokens after the context
        def _encode_pair(self, context, continuation):
            return [1, 2], [7] * len(continuation.strip())

    assert selfexplain.per_character(Paired({}), "Relation:", ["a", "bb"])  # "bb" is two tokens here


def test_only_insertions_that_changed_the_prediction_are_re_explained(monkeypatch):
    asked = []
    monkeypatch.setattr(selfexplain, "generate_answers", lambda lm, prompts, *a, **k: asked.extend(prompts) or
                        [selfexplain.Generated(f"because {i}", False) for i in range(len(prompts))])
    doc = {**_esnli_doc("A man sleeps now."), "insert_words": ["quietly", "loudly", "never", "sad", "tall", "young"]}
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


def test_a_capped_row_stops_at_its_cap_and_the_others_at_their_rule():
    from qxbench.probes.selfexplain import _Capped, rewrite_cap

    stop = _Capped(lambda row, token: token == 0, [2, 5])
    assert [stop(0, 7), stop(0, 7)] == [False, True]  # row 0: its cap of 2 tokens
    assert [stop(1, 7), stop(1, 0)] == [False, True]  # row 1: its own rule first
    assert rewrite_cap(Judge({}), "a b c") == 2 * 3 + 16
    assert rewrite_cap(Judge({}), "w " * 90) == 96


class Templated(Judge):
    """A Judge with a chat template: ``<user>...</user><assistant>``."""

    class tokenizer:  # noqa: N801 - the attribute lm-eval's HFLM has
        chat_template = "<user>{{ content }}</user><assistant>"

    def apply_chat_template(self, messages):
        return f"<user>{messages[-1]['content']}</user><assistant>"


def test_under_a_chat_template_the_answer_cue_follows_the_assistant_header():
    lm = Templated({"sleeps": "contradiction"})
    classify(lm, [_esnli_doc()], prompts=PromptSet("instruct-1", chat=Chat(True)))
    assert lm.seen and all(p.endswith("Answer with the label only.</user><assistant>Relation:") for p in lm.seen)
    plain = Templated({"sleeps": "contradiction"})
    classify(plain, [_esnli_doc()], prompts=PromptSet("instruct-1"))  # the run did not ask for the template
    assert plain.seen and all(p == PromptSet("instruct-1").classify(_esnli_doc()) for p in plain.seen)
    old = Templated({})
    classify(old, [_esnli_doc()], prompts=PromptSet("completion-0", chat=Chat(True)))  # the earlier templates
    assert old.seen and all(p.endswith("Relation:</user><assistant>") for p in old.seen)


def test_the_judge_formats_the_prompts_with_its_own_template_and_no_model_keeps_chat_state(monkeypatch):
    """Per-run state passed explicitly (issue 40): the chat settings travel with the prompt set, each model
    formats them with its own template, and nothing is set on either model object."""
    class Other(Templated):
        def apply_chat_template(self, messages):
            return f"[judge]{messages[-1]['content']}[/judge]"

    monkeypatch.setattr(selfexplain, "generate", lambda lm, prompts, *a, **k: ["A man plays music."] * len(prompts))
    model, judge = Templated({"sleeps": "contradiction"}), Other({"sleeps": "contradiction"})
    before = (dict(vars(model)), dict(vars(judge)))
    (cf,) = counterfactuals(model, [_esnli_doc()], reference=judge, prompts=PromptSet("instruct-1", chat=Chat(True)))
    assert model.seen and all(p.startswith("<user>") for p in model.seen), "the model did not read its own template"
    assert judge.seen and all(p.startswith("[judge]") for p in judge.seen), "the judge did not read its own template"
    assert cf.rewrite_prompt.startswith("<user>") and cf.rewrite_prompt.endswith("</user><assistant>")
    assert {k: v for k, v in vars(model).items() if k != "seen"} == {k: v for k, v in before[0].items() if k != "seen"}
    assert {k: v for k, v in vars(judge).items() if k != "seen"} == {k: v for k, v in before[1].items() if k != "seen"}


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
    return [_esnli_doc("A man sleeps."), _esnli_doc("A man sleeps now."), _esnli_doc("The man sleeps.")]


def test_every_rewrite_is_read_and_only_valid_rewrites_are_classified(monkeypatch):
    docs = _three(monkeypatch)
    lm, reference = Fluent(CUES), Fluent(CUES, nll=2.0)
    cfs = counterfactuals(lm, docs, reference=reference, prompts=PromptSet("instruct-1"))
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
    flip, same, leak = counterfactuals(lm, docs, reference=reference, prompts=PromptSet("instruct-1"))
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
    (flip, *_) = counterfactuals(alone, docs, reference=None, prompts=PromptSet("instruct-1"))
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
    said = "The relation is a contradiction because the man"
    first, rest = selfexplain.Generated(said, capped), selfexplain.Generated("x", False)
    monkeypatch.setattr(selfexplain, "generate_answers",
                        lambda lm, prompts, *a, **k: [first] + [rest] * (len(prompts) - 1))
    (ex,) = explanations(Judge({"sleeps": "contradiction"}), [{**_esnli_doc(), "insert_words": ["never"]}],
                         PromptSet("instruct-1"), words=1, positions=1)
    assert (ex.explanation, ex.kind, ex.capped) == (said, kind, capped)
    assert ex.explain_prompt.endswith("Answer with the explanation only.\nExplanation:")
    from qxbench.probes.logged import read_result

    logged = read_result(str(ex))
    assert (logged.kind, logged.capped, logged.explain_prompt) == (kind, capped, ex.explain_prompt)


class Letters:
    """A tokenizer of one token per character for a tiny model: every token decodes to ``piece``."""

    eos_token_id = None

    def __init__(self, piece: str) -> None:
        self.piece = piece

    def decode(self, ids, skip_special_tokens=True):
        return self.piece * len(ids)

    def batch_decode(self, rows, skip_special_tokens=True):
        return [self.decode(r) for r in rows]


class TinyLM:
    device, max_length, batch_size = "cpu", 64, 2

    def __init__(self, model, piece: str) -> None:
        self.model, self.tokenizer = model, Letters(piece)

    def tok_batch_encode(self, texts, left_truncate_len=None):
        rows = [[1 + ord(c) % 60 for c in t][-8:] for t in texts]
        width = max(map(len, rows))
        ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
        return ids, (ids != 0).long()


def test_generate_answers_says_which_rows_ran_into_their_token_cap(tiny_llama):
    ended = selfexplain.generate_answers(TinyLM(tiny_llama, "a\n"), ["one", "two prompts"], 5)
    assert [g.capped for g in ended] == [False, False]
    assert [g.text for g in ended] == ["a", "a"]  # a line end
    running = selfexplain.generate_answers(TinyLM(tiny_llama, "a"), ["one", "two prompts"], 5, caps=[2, 9])
    assert [g.capped for g in running] == [True, True]
    assert [g.text for g in running] == ["aa", "aaaaa"]


class Batches(Judge):
    """A qx-like LM (``choice_loglikelihoods``) whose labels depend on the batch size it is asked for."""

    batch_size = "4"

    def __init__(self, *a, **k) -> None:
        super().__init__(*a, **k)
        self.sizes = []

    def choice_loglikelihoods(self, contexts, choices, groups=None, batch_size=None):
        self.sizes.append(batch_size)
        flip = batch_size == 6  # the second composition sees another label, as bnb-int8 may
        return [[-5.0 if (c.strip() == "contradiction") != flip else 0.0 for c in cs] for cs in choices]


def test_labels_again_classify_the_inputs_in_a_second_batch_composition():
    lm = Batches({"sleeps": "contradiction"})
    docs = [_esnli_doc(), _esnli_doc("A man sings."), *(_esnli_doc(f"A man sings {k}.") for k in range(3))]
    again = selfexplain.labels_again(lm, docs, PromptSet("instruct-1"))
    assert lm.sizes == [6]  # more documents than a batch (4): half as many again as the run's batch size
    assert len(again) == 5
    first = selfexplain.classify(lm, docs, prompts=PromptSet("instruct-1"))
    assert [selfexplain.argmax(s) for s in first] != again
    assert lm.sizes[-1] is None  # the run's own batch size
    assert selfexplain.labels_again(Judge({}), docs[:2], PromptSet("instruct-1")) == [None, None]  # another LM
    assert selfexplain.labels_again(lm, docs[:1], PromptSet("instruct-1")) == [None]  # one document: no other


def test_labels_again_split_a_single_batch_in_two():
    lm = Batches({"sleeps": "contradiction"})
    lm.batch_size = "32"  # every document fits the first batch: the same batch again would compute the same
    selfexplain.labels_again(lm, [_esnli_doc(), _esnli_doc("A man sings."), _esnli_doc("A cat.")], PromptSet("instruct-1"))
    assert lm.sizes == [1]
