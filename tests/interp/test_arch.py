from __future__ import annotations

import pytest

from qxbench.errors import QxError
from qxbench.interp.arch import ARCHS, arch_of


def test_known_architectures_map_to_modules_that_exist(tiny_llama, tiny_gpt2, tiny_gemma, tiny_gemma2):
    for model in (tiny_llama, tiny_gpt2, tiny_gemma, tiny_gemma2):
        spec = arch_of(model)
        block = model.get_submodule(spec.layers)[0]
        for path in (spec.final_norm, spec.unembed):
            model.get_submodule(path)
        for path in (spec.attn_out, spec.mlp_out, spec.act, *([spec.ffn_norm] if spec.ffn_norm else [])):
            block.get_submodule(path)


def test_gemma_entries_name_its_sandwich_norms_gelu_gate_and_soft_cap(tiny_gemma, tiny_gemma2):
    from qxbench.interp.arch import logit_cap

    spec = arch_of(tiny_gemma)
    assert (spec.attn_out, spec.ffn_norm, spec.norm_offset) == ("post_attention_layernorm",
                                                                "post_feedforward_layernorm", 1.0)
    act = tiny_gemma.model.layers[0].get_submodule(spec.act)
    assert type(act).__name__ == "GELUTanh"  # the gate's activation (hidden_activation gelu_pytorch_tanh)
    assert logit_cap(tiny_gemma) is None
    assert logit_cap(tiny_gemma2) == 2.0


def test_unknown_architecture_names_the_model_class():
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=16))
    with pytest.raises(QxError, match="BertModel.*'bert'.*known model types: " + ", ".join(sorted(ARCHS))):
        arch_of(model)
