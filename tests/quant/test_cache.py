import pytest

from qxbench.errors import QxError
from qxbench.quant import cache


@pytest.fixture(autouse=True)
def _root(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_CACHE", str(tmp_path / "c"))


def test_miss_then_hit_builds_once():
    calls = []

    def build(out):
        calls.append(out)
        (out / "model.bin").write_text("x")

    spec = {"model": "m", "bits": 4}
    first, hit1 = cache.get_or_create(spec, build)
    second, hit2 = cache.get_or_create(spec, build)
    assert (hit1, hit2) == (False, True)
    assert first == second
    assert len(calls) == 1
    assert [e.spec for e in cache.entries()] == [spec]


def test_failed_build_leaves_nothing():
    def build(out):
        (out / "partial").write_text("x")
        raise QxError("boom")

    with pytest.raises(QxError, match="boom"):
        cache.get_or_create({"model": "m"}, build)
    assert cache.entries() == []
    assert list(cache.cache_root().iterdir()) == []


def test_remove_unknown_key_lists_entries():
    cache.get_or_create({"model": "m"}, lambda out: None)
    (key,) = [e.key for e in cache.entries()]
    with pytest.raises(QxError, match=f"No cache entry 'nope'. Entries: {key}"):
        cache.remove("nope")
    cache.remove(key)
    assert cache.entries() == []


def test_key_depends_on_every_field():
    assert cache.cache_key({"bits": 4}) != cache.cache_key({"bits": 8})
    assert cache.cache_key({"a": 1, "b": 2}) == cache.cache_key({"b": 2, "a": 1})


def test_weights_sha256_reads_every_top_level_safetensors_file_and_changes_with_a_byte(tmp_path):
    entry = tmp_path / "entry"
    (entry / "sub").mkdir(parents=True)
    (entry / "model-00001-of-00002.safetensors").write_bytes(b"\x00" * 100)  # a sharded checkpoint: both shards
    (entry / "model-00002-of-00002.safetensors").write_bytes(b"\x01" * 10)
    (entry / "sub" / "other.safetensors").write_bytes(b"\x03" * 10)  # another checkpoint, not loaded: not hashed
    (entry / "qx_cache.json").write_text("{}")
    before = cache.weights_sha256(entry)
    assert len(before) == 64 and before == cache.weights_sha256(entry)
    (entry / "qx_cache.json").write_text('{"other": 1}')  # not weights
    (entry / "sub" / "other.safetensors").write_bytes(b"\x04" * 10)
    assert cache.weights_sha256(entry) == before
    (entry / "model-00002-of-00002.safetensors").write_bytes(b"\x01" * 9 + b"\x02")
    assert cache.weights_sha256(entry) != before


def test_weights_sha256_of_an_entry_without_weights_is_one_line(tmp_path):
    with pytest.raises(QxError, match=r"holds no \*\.safetensors file: remove it"):
        cache.weights_sha256(tmp_path)


def test_a_named_checkpoint_is_hashed_only_where_it_holds_safetensors(tmp_path):
    """quant=prequantized: a folder of .bin weights, or a Hub id, loads with no hash instead of failing."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pytorch_model.bin").write_bytes(b"weights")
    assert cache.checkpoint_sha256(tmp_path / "bin") is None
    assert cache.checkpoint_sha256(tmp_path / "Org" / "model") is None  # not a folder here
    (tmp_path / "st").mkdir()
    (tmp_path / "st" / "model.safetensors").write_bytes(b"weights")
    assert cache.checkpoint_sha256(tmp_path / "st") == cache.weights_sha256(tmp_path / "st")
    assert cache.SHA256.fullmatch(cache.checkpoint_sha256(tmp_path / "st"))
    same = cache.checkpoint_sha256(tmp_path / "st")
    (tmp_path / "st" / "checkpoint-500").mkdir()  # another checkpoint inside it: not what transformers loads
    (tmp_path / "st" / "checkpoint-500" / "model.safetensors").write_bytes(b"older weights")
    assert cache.checkpoint_sha256(tmp_path / "st") == same
    (tmp_path / "odd" / "x.safetensors").mkdir(parents=True)  # a folder named like weights: none, no cache error
    assert cache.checkpoint_sha256(tmp_path / "odd") is None
