"""The comparison of two top-k neuron lists (the tiny models are fixtures of tests/conftest.py; the reference
forward pass by hand is tests/reference_pass.py)."""

from __future__ import annotations


def assert_same_top(mine, reference, tol: float) -> None:
    """Two top-k neuron lists [(layer, neuron, score)] agree: every neuron in both scores the same
    within ``tol``, and a neuron in only one of them is a float tie at the boundary (its score within
    ``tol`` of the other list's k-th score). The order of scores within ``tol`` of each other is
    float noise (different matrix shapes round differently), so only the sorted scores are compared."""
    a = {(int(x[0]), int(x[1])): float(x[2]) for x in mine}
    b = {(int(x[0]), int(x[1])): float(x[2]) for x in reference}
    assert len(a) == len(b)
    for key in a.keys() & b.keys():
        assert abs(a[key] - b[key]) < tol, (key, a[key], b[key])
    tau_a, tau_b = min(a.values()), min(b.values())
    for key in a.keys() - b.keys():
        assert abs(a[key] - tau_b) < tol, ("only in the first", key, a[key], tau_b)
    for key in b.keys() - a.keys():
        assert abs(b[key] - tau_a) < tol, ("only in the second", key, b[key], tau_a)
    assert sorted(a.values()) == __import__("pytest").approx(sorted(b.values()), abs=tol)
    assert len(a.keys() & b.keys()) >= 0.99 * len(b)
