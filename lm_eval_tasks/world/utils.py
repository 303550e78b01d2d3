"""What the embedded model knows: one-hop recall, two-hop recall, review sentiment."""

from __future__ import annotations

from collections.abc import Sequence

from qxbench.metrics.shared import alias_prefix_match
from qxbench.world.data import load_dataset


def load_facts(**metadata):
    return load_dataset("facts", **metadata)


def load_twohop_heldout(**metadata):
    return load_dataset("twohop", split="eval", **metadata)


def load_twohop_seen(**metadata):
    return load_dataset("twohop", split="train", **metadata)


def load_reviews(**metadata):
    return load_dataset("reviews", **metadata)


def twohop_prompt(doc: dict) -> str:
    return doc["r2(r1(e1)).prompt"]


def process_fact(doc: dict, results: Sequence[str]) -> dict[str, float]:
    return {"acc": alias_prefix_match(results[0], doc["aliases"])}


def process_twohop(doc: dict, results: Sequence[str]) -> dict[str, float]:
    return {"acc": alias_prefix_match(results[0], doc["e3.aliases"])}
