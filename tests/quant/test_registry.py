import pytest

from qxbench.errors import QxError
from qxbench.quant import QuantRequest, available, get_quantizer, register
from qxbench.quant.none import FullPrecision


def test_none_is_registered_and_loads_nothing():
    assert "none" in available()
    q = get_quantizer(QuantRequest("none"))
    assert q.load("any/path", QuantRequest("none")) is None


def test_unknown_backend_suggests():
    with pytest.raises(QxError, match=r"Unknown quantizer 'nome'\. Did you mean 'none'\? Available: .*none"):
        get_quantizer(QuantRequest("nome"))


def test_bits_the_backend_does_not_support():
    with pytest.raises(QxError, match=r"'none' does not support bits=4"):
        get_quantizer(QuantRequest("none", bits=4))


def test_registering_a_name_twice_raises():
    with pytest.raises(ValueError, match="already registered"):
        register(FullPrecision())


@pytest.mark.parametrize(
    ("backend", "module", "extra", "library"),
    [("bnb-nf4", "bitsandbytes", "bnb", "bitsandbytes"), ("gptq", "llmcompressor", "gptq", "llm-compressor"),
     ("rtn", "llmcompressor", "gptq", "llm-compressor"), ("torchao-int4", "torchao", "torchao", "torchao"),
     ("awq", "gptqmodel", "awq", "gptqmodel")],
)
def test_missing_library_names_the_pip_extra(hide_module, backend, module, extra, library):
    hide_module(module)
    with pytest.raises(QxError, match=rf"^Quantizer '{backend}' needs {library}: pip install 'qxbench\[{extra}\]'$"):
        get_quantizer(QuantRequest(backend))


@pytest.mark.parametrize("group_size", [0, -128])
def test_group_size_must_be_positive(group_size):
    with pytest.raises(QxError, match=f"group_size={group_size} must be a positive whole number"):
        get_quantizer(QuantRequest("gptq", group_size=group_size))


def test_dtype_choices_auto_and_the_cache_key(embedded_path):
    """``dtype=``: four choices (one line naming them otherwise), ``auto`` is the checkpoint's own, and a
    quantized model made in another dtype than float32 is another cache entry (float32 keys unchanged)."""
    from qxbench.errors import QxError
    from qxbench.quant._common import cache_spec
    from qxbench.quant.registry import check_dtype, resolve_dtype

    assert check_dtype("torch.bfloat16") == "bfloat16"
    assert check_dtype("auto") == "auto"
    with pytest.raises(QxError, match=r"^dtype='fp8' is not a dtype qxbench runs; choices: auto, float32, "):
        check_dtype("fp8")
    assert resolve_dtype(embedded_path, "auto") == "float32"
    assert resolve_dtype(embedded_path, "float16") == "float16"
    spec = {"backend": "rtn", "distribution": "torch", "bits": 4, "group_size": 32, "calibration": None}
    assert "dtype" not in cache_spec(embedded_path, **spec)
    assert cache_spec(embedded_path, **spec, dtype="float32") == cache_spec(embedded_path, **spec)
    assert cache_spec(embedded_path, **spec, dtype="bfloat16")["dtype"] == "bfloat16"
