from __future__ import annotations

import pytest

from qxbench.errors import QxError
from qxbench.probes.arch import ARCHS, arch_of


def test_known_architectures_map_to_modules_that_exist(tiny_llama, tiny_gpt2):
    for model in (tiny_llama, tiny_gpt2):
        spec = arch_of(model)
        block = model.get_submodule(spec.layers)[0]
        for path in (spec.final_norm, spec.unembed):
            model.get_submodule(path)
        for path in (spec.attn_out, spec.mlp_out):
            block.get_submodule(path)


def test_unknown_architecture_names_the_model_class():
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=16))
    with pytest.raises(QxError, match="BertModel.*'bert'.*known model types: " + ", ".join(sorted(ARCHS))):
        arch_of(model)
