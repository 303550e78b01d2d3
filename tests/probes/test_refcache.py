"""Full-precision attributions shared by the configs of a sweep (qxbench/probes/refcache.py)."""

from __future__ import annotations

from qxbench.probes import refcache
from qxbench.probes.attribution import Attribution


def test_an_attribution_reads_back_equal(tmp_path, monkeypatch):
    monkeypatch.setenv("QXBENCH_HOME", str(tmp_path))
    a = Attribution(target=5, gold=6, gold_logprob=-0.1234567891234, gold_rank=2, attn_imp=[0.5, 1.0 / 3],
                    ffn_imp=[0.25, -0.25], top=[(1, 2, 0.5), (0, 7, 0.1 + 0.2)], at_least={0.3: 4, 1e-7: 9}, at_tau=2,
                    scored=6)
    keys = refcache.keys({"model": "m"}, [[1, 2, 3]], [6])
    assert refcache.load(keys) == [None]
    refcache.store(keys, [a])
    assert refcache.load(keys) == [a]
    assert refcache.keys({"model": "m"}, [[1, 2, 4]], [6]) != keys != refcache.keys({"model": "n"}, [[1, 2, 3]], [6])
    (tmp_path / "attributions" / f"{keys[0]}.json").write_text("{half")  # unreadable: computed again
    assert refcache.load(keys) == [None]
