import torch

from qxbench.summary import is_quantized_linear, summarize, weight_bytes


class FakeInt8Linear(torch.nn.Linear):
    def __init__(self, n: int) -> None:
        super().__init__(n, n, bias=False)
        self.weight = torch.nn.Parameter(torch.zeros(n, n, dtype=torch.int8), requires_grad=False)


class FakePacked(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("qweight", torch.zeros(4, 8, dtype=torch.int32))


def test_counts_plain_and_quantized_linears():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), FakeInt8Linear(8), FakePacked(), torch.nn.LayerNorm(8))
    s = summarize(model)
    assert (s.linear_layers, s.quantized_linear_layers) == (3, 2)
    assert not is_quantized_linear(model[0])
    assert is_quantized_linear(model[1])
    assert is_quantized_linear(model[2])


def test_weight_bytes_counts_every_tensor_at_its_width():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), FakeInt8Linear(8), FakePacked())
    expected = (64 + 8) * 4 + 64 * 1 + 32 * 4
    assert weight_bytes(model) == expected


def test_tensor_subclass_counts_its_inner_storage():
    from qxbench.summary import tensor_bytes

    class Packed(torch.Tensor):
        """Looks like a float matrix; its storage is an int8 matrix plus one scale per row."""

        def __tensor_flatten__(self):
            return ["data_i8", "scale"], None

    t = torch.zeros(4, 8).as_subclass(Packed)
    t.data_i8, t.scale = torch.zeros(4, 8, dtype=torch.int8), torch.ones(4)
    assert tensor_bytes(t) == 32 + 16
    assert tensor_bytes(torch.zeros(4, 8)) == 128
