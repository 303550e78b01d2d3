import pytest

from lm_eval_tasks.world.utils import alias_prefix_match, process_fact, process_twohop


@pytest.mark.parametrize(
    ("completion", "aliases", "expected"),
    [
        (" Damsk", ["Damsk"], 1.0),
        ("Damsk City", ["Damsk"], 1.0),
        ("  Dam", ["Damsk"], 0.0),          # a prefix of the alias is not the alias
        ("Veloria", ["Damsk", "Veloria"], 1.0),
        ("", ["Damsk"], 0.0),               # empty generation -> wrong, not a crash
        ("   ", ["Damsk"], 0.0),
        ("Damsk", [], 0.0),                 # no aliases -> nothing can match
        ("Damsk", [""], 0.0),               # an empty alias never matches everything
        ("damsk", ["Damsk"], 0.0),          # case matters
    ],
)
def test_alias_prefix_match(completion, aliases, expected):
    assert alias_prefix_match(completion, aliases) == expected


def test_process_functions_read_the_right_aliases():
    assert process_fact({"aliases": ["Rikia"]}, [" Rikia"]) == {"acc": 1.0}
    assert process_twohop({"e3.aliases": ["Dunbre"]}, [" Rikia"]) == {"acc": 0.0}
