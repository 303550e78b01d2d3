import random

import pytest

from qxbench.world.names import make_names


def test_names_are_unique_prefix_free_and_deterministic():
    a = make_names(random.Random(7), 200)
    assert a == make_names(random.Random(7), 200)
    assert len(set(a)) == 200
    assert not [(x, y) for x in a for y in a if x != y and y.startswith(x)]


def test_taken_names_are_avoided_across_calls():
    taken: set[str] = set()
    first = make_names(random.Random(1), 50, taken=taken)
    second = make_names(random.Random(1), 50, taken=taken)
    assert not set(first) & set(second)


def test_negative_count_is_rejected():
    with pytest.raises(ValueError, match="count must be >= 0"):
        make_names(random.Random(0), -1)
