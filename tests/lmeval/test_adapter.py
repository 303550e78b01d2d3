"""`qx` with quant=none is HFLM on the same checkpoint: identical numbers, plus a `qx` results block."""

from __future__ import annotations

import os

import pytest
from lm_eval.api.instance import Instance

from qxbench.errors import QxError
from qxbench.world.data import read_rows

DTYPE_CHOICES = "choices: auto, float32, float16, bfloat16"


def _requests(kind: str, args: list[tuple]) -> list[Instance]:
    return [Instance(request_type=kind, doc={}, arguments=a, idx=0) for a in args]


@pytest.fixture(scope="module")
def pair(embedded_path):
    from lm_eval.models.huggingface import HFLM

    from qxbench.lmeval.adapter import QXLM

    return QXLM(device="cpu", batch_size=4), HFLM(pretrained=embedded_path, device="cpu", batch_size=4)


def test_loglikelihoods_are_identical_to_hf(pair):
    facts = read_rows("facts")[:24]
    reviews = read_rows("reviews")[:8]
    args = [(r["prompt"], " " + r["object"]) for r in facts]
    args += [(f"Review: {r['text']}\nSentiment:", f" {label}") for r in reviews for label in ("negative", "positive")]
    qx, hf = (lm.loglikelihood(_requests("loglikelihood", args)) for lm in pair)
    assert len(qx) == len(args)
    assert qx == hf


def test_rolling_loglikelihoods_are_identical_to_hf(pair):
    args = [(r["text"],) for r in read_rows("reviews")[:6]]
    qx, hf = (lm.loglikelihood_rolling(_requests("loglikelihood_rolling", args)) for lm in pair)
    assert qx == hf


def test_greedy_generations_are_identical_to_hf(pair):
    gen = {"until": ["."], "max_gen_toks": 12, "do_sample": False}
    args = [(r["prompt"], gen) for r in read_rows("facts")[::20]]
    qx, hf = (lm.generate_until(_requests("generate_until", args)) for lm in pair)
    assert qx == hf
    assert any(text.strip() for text in qx)


def test_model_info_records_the_qx_block(pair, embedded_path):
    info = pair[0].get_model_info()["qx"]
    assert info["model"] == "qx-tiny"
    assert info["path"] == embedded_path
    assert info["quant"] == "none"
    assert info["dtype"] == "float32"  # the default, whatever HFLM's own default ("auto") would pick
    assert info["schema"] == "qxbench-config/1"  # what leaderboard/read/schema.py accepts
    assert info["reference"] == "auto"
    assert info["summary"]["quantized_linear_layers"] == 0
    assert info["summary"]["linear_layers"] == 4 * 7 + 1  # q,k,v,o,gate,up,down per layer + lm_head
    assert info["summary"]["weight_bytes"] > 4 * info["summary"]["parameters"] * 0.99


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pretrained": "/no/such/model"}, "Unknown model '/no/such/model'"),
        ({"quant": "gtpq"}, "Unknown quantizer 'gtpq'"),
        ({"bits": "four"}, "bits='four' is not a whole number"),
        ({"bits": 4}, "'none' does not support bits=4"),
        ({"reference": "/no/such/reference"}, "Unknown model '/no/such/reference'"),
        ({"dtype": "nonsense"}, "dtype='nonsense' is not a dtype qxbench runs; " + DTYPE_CHOICES),
        ({"dtype": "float64"}, "dtype='float64' is not a dtype qxbench runs; " + DTYPE_CHOICES),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, message):
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError) as exc:
        QXLM(device="cpu", **kwargs)
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_unreachable_hub_id_is_one_clear_line():
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError, match=r"^Could not load model 'qxbench-test/does-not-exist': "):
        QXLM(pretrained="qxbench-test/does-not-exist", device="cpu")


def test_corrupt_full_precision_checkpoint_is_one_line(tmp_path):
    import shutil

    from qxbench.lmeval.adapter import QXLM
    from qxbench.models import EMBEDDED_MODEL_DIR

    bad = tmp_path / "corrupt"
    shutil.copytree(EMBEDDED_MODEL_DIR, bad)
    (bad / "model.safetensors").write_bytes((bad / "model.safetensors").read_bytes()[:4096])
    with pytest.raises(QxError, match=r"^Could not load model '.*corrupt': ") as exc:
        QXLM(pretrained=str(bad), device="cpu")
    assert "\n" not in str(exc.value)


def test_reference_model_rules():
    from qxbench.lmeval.adapter import QXLM

    fp = QXLM(device="cpu")
    assert fp.reference_lm() is fp  # quant=none: the model is its own full-precision reference
    assert QXLM(device="cpu", reference="none").reference_lm() is None
    other = QXLM(device="cpu", reference="qx-tiny")
    ref = other.reference_lm()
    assert ref is not other
    assert ref.qx.quant == "none"
    assert ref is other.reference_lm()  # loaded once
    # what the probes are told (selfexplain.Reference): stated by the adapter, never inferred from identity
    assert (fp.reference().lm, fp.reference().is_config) == (fp, True), "full precision is not its own reference"
    assert (other.reference().lm, other.reference().is_config) == (ref, False), "a named reference is the config"
    none = QXLM(device="cpu", reference="none").reference()
    assert (none.lm, none.is_config) == (None, False)


def test_none_from_lm_eval_s_argument_parser_means_none():
    """``simple_evaluate(model_args="quant=none,reference=none")`` hands the adapter Python ``None``s
    (lm-eval's ``handle_arg_string``); they mean the string ``none``, not a model named 'None'."""
    from lm_eval.api.registry import get_model

    lm = get_model("qx").create_from_arg_string("quant=none,reference=none", {"device": "cpu"})
    assert lm.qx.quant == "none"
    assert lm.reference_lm() is None


def test_an_empty_probe_answer_is_one_line():
    from qxbench.lmeval.adapter import QXLM

    with pytest.raises(QxError, match="The answer to 'The capital of X is' is empty"):
        QXLM(device="cpu")._first_token("The capital of X is", "  ")


def test_a_run_without_pretrained_is_named_after_the_default_model():
    """lm-eval names the run (output folder, model_name) after `pretrained` in the model args it passed."""
    from qxbench.lmeval.adapter import QXLM

    model_args: dict = {}
    lm = QXLM.create_from_arg_obj(model_args, {"device": "cpu", "batch_size": None})
    assert model_args == {"pretrained": "qx-tiny"}
    assert lm.qx.model == "qx-tiny"


def test_the_use_cache_identity_names_model_content_and_config(pair):
    identity = pair[0].cache_identity()
    assert identity["quant"] == "none"
    assert identity["reference"] == "auto"
    assert identity["fingerprint"]
    assert {"qxbench", "model", "bits", "group_size", "calibration"} <= set(identity)


def test_bfloat16_is_recorded_and_computes_in_bfloat16_with_a_bfloat16_reference():
    """``dtype=bfloat16``: the weights, ``config.qx.dtype``, the reference the probes judge with and the
    ``--use_cache`` identity all say bfloat16; lm-eval's log-softmax stays float32."""
    import torch

    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(device="cpu", dtype="bfloat16", reference="qx-tiny")
    assert lm.model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert lm.get_model_info()["qx"]["dtype"] == "bfloat16"
    assert lm.cache_identity()["dtype"] == "bfloat16"
    assert lm.softmax_dtype == torch.float32
    ref = lm.reference_lm()
    assert ref.qx.dtype == "bfloat16"
    assert ref.model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert QXLM(device="cpu", dtype="auto").qx.dtype == "float32"  # qx-tiny's config.json says float32


def test_a_quantizer_computes_in_the_dtype_asked_for(tmp_path, monkeypatch):
    """bnb-nf4 in bfloat16: its 4-bit layers' compute dtype and its unquantized layers are bfloat16."""
    import importlib.util

    import torch

    if importlib.util.find_spec("bitsandbytes") is None:
        pytest.skip("bitsandbytes is not installed (pip install 'qxbench[bnb]')")
    from qxbench.lmeval.adapter import QXLM

    lm = QXLM(device="cpu", quant="bnb-nf4", dtype="bfloat16", reference="none")
    layer = next(m for m in lm.model.modules() if type(m).__name__ == "Linear4bit")
    assert layer.compute_dtype == torch.bfloat16
    assert lm.model.lm_head.weight.dtype == torch.bfloat16
    assert lm.qx.dtype == "bfloat16"
    assert lm.qx.summary.quantized_linear_layers > 0


def test_onednn_cache_is_capped_unless_the_environment_sets_it(monkeypatch):
    """bitsandbytes' CPU int8 matmul runs in oneDNN, whose default cache of 1,024 primitives grew a 0.5B
    explanation run past 20 GB (benchmarks/speed/bnb_memory.py); a capacity the user set is kept."""
    from qxbench.lmeval import adapter

    monkeypatch.delenv(adapter.ONEDNN_CACHE, raising=False)
    adapter.cap_onednn_cache()
    assert os.environ[adapter.ONEDNN_CACHE] == "16"
    monkeypatch.setenv(adapter.ONEDNN_CACHE, "1024")
    adapter.cap_onednn_cache()
    assert os.environ[adapter.ONEDNN_CACHE] == "1024"


def test_the_onednn_cache_in_effect_is_recorded_in_config_qx(monkeypatch):
    """``config.qx.onednn_cache`` says which capacity a run had: a bnb-int8 run's memory depends on it."""
    from qxbench.lmeval.adapter import ONEDNN_CACHE, QXLM

    monkeypatch.setenv(ONEDNN_CACHE, "64")
    assert QXLM(device="cpu", reference="none").get_model_info()["qx"]["onednn_cache"] == "64"
