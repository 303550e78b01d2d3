"""AWQ on Gemma 2/3: gptqmodel 7.6 folds the scales into the wrong norms, so qxbench refuses in one line.

The first test is the evidence, and a canary: it applies gptqmodel's own AWQ folding (its scaling
groups, ``awq_get_modules_for_scaling``; its ``apply_scale``) with random scales to tiny models. The
folding must not change what a model computes (AWQ's scales are exact before rounding): it does not
on Llama, it does on Gemma 2 and Gemma 3. When a gptqmodel release makes it pass on Gemma too, lift
the refusal (``qxbench.quant.awq.WRONG_FOLDING``).
"""

from __future__ import annotations

import copy
import importlib.util
from types import SimpleNamespace

import pytest

from qxbench.errors import QxError
from qxbench.quant import QuantRequest, get_quantizer
from tests.conftest import REPO, console_script, run_cli

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gptqmodel") is None, reason="gptqmodel not installed")


def _tiny_llama():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
                                         num_attention_heads=4, num_key_value_heads=1, head_dim=8)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.normal_(1, 0.5)
    return model


def _fold_with_gptqmodel(model) -> tuple[list[tuple[str, list[str]]], float]:
    """gptqmodel's scaling groups of each layer, folded with random scales: (the groups, max |Δ logit|)."""
    import torch
    from gptqmodel.models.auto import MODEL_MAP
    from gptqmodel.quantization.awq.quantize.scale import apply_scale

    qmodel = MODEL_MAP[model.config.model_type]
    gptq = SimpleNamespace(model=model, dynamic_expert_index=None, full_layer_modules=qmodel.full_layer_modules,
                           moe_expert_module_name_prefixes=getattr(qmodel, "moe_expert_module_name_prefixes", []),
                           awq_scale_optimize_shape_dependent_modules=qmodel.awq_scale_optimize_shape_dependent_modules)
    blocks = qmodel.full_layer_modules(model.config, is_awq_quantize=True, include_capture_only=True)
    ids = torch.randint(0, model.config.vocab_size, (2, 6), generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        before = model(ids).logits
        for layer in model.model.layers:
            names = {id(m): n for n, m in layer.named_modules()}
            nodes = qmodel.awq_get_modules_for_scaling(gptq, layer, {n: torch.zeros(1) for b in blocks for n in b}, {})
            groups = [(names[id(n["prev_op"])], [names[id(m)] for m in n["layers"]]) for n in nodes]
            apply_scale(layer, [(prev, fcs, torch.rand(n["layers"][0].in_features, generator=generator) + 0.5, None)
                                for (prev, fcs), n in zip(groups, nodes, strict=True)])
        return groups, float((model(ids).logits - before).abs().max())


def test_gptqmodel_awq_folding_is_exact_on_llama_and_not_on_gemma(tiny_gemma, tiny_gemma2) -> None:
    groups, llama = _fold_with_gptqmodel(_tiny_llama())
    assert ("post_attention_layernorm", ["mlp.gate_proj", "mlp.up_proj"]) in groups
    assert llama < 1e-5
    for model in (tiny_gemma, tiny_gemma2):
        groups, moved = _fold_with_gptqmodel(copy.deepcopy(model))
        # the MLP's scales go into the norm of the attention output; Gemma's MLP reads pre_feedforward_layernorm
        assert ("post_attention_layernorm", ["mlp.gate_proj", "mlp.up_proj"]) in groups
        assert moved > 1e-2, (model.config.model_type, moved)


@pytest.mark.parametrize("fixture", ["tiny_gemma", "tiny_gemma2"])
def test_awq_refuses_gemma_in_one_line_before_quantizing(fixture, request, tmp_path, cache_dir) -> None:
    model = request.getfixturevalue(fixture)
    model.save_pretrained(tmp_path / "model")
    awq = QuantRequest("awq")
    with pytest.raises(QxError) as err:
        get_quantizer(awq).load(str(tmp_path / "model"), awq)
    message = str(err.value)
    assert "\n" not in message
    assert message == (f"quant=awq cannot quantize '{model.config.model_type}' models: gptqmodel 7.6.0 folds AWQ's "
                       "MLP scales into post_attention_layernorm, not into the pre_feedforward_layernorm that feeds "
                       "the MLP, which changes the model's function; use gptq, rtn, bnb-int8, bnb-nf4 or torchao-int8")
    assert list(cache_dir.iterdir()) == []


@pytest.mark.real
def test_the_cli_refuses_awq_on_gemma3_270m_with_exit_2(gemma3_dir, tmp_path) -> None:
    cache = tmp_path / "qxcache"
    res = run_cli([console_script("qxbench"), "eval", "--model", "qx", "--model_args",
                   "pretrained=gemma3-270m,quant=awq", "--tasks", "memorize", "--limit", "1"], cwd=tmp_path,
                  env={"QXBENCH_CACHE": str(cache), "PYTHONPATH": str(REPO)}, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("qxbench: error:")]
    assert lines == ["qxbench: error: quant=awq cannot quantize 'gemma3_text' models: gptqmodel 7.6.0 folds AWQ's MLP "
                     "scales into post_attention_layernorm, not into the pre_feedforward_layernorm that feeds the "
                     "MLP, which changes the model's function; use gptq, rtn, bnb-int8, bnb-nf4 or torchao-int8"]
    assert not cache.exists() or list(cache.iterdir()) == []
