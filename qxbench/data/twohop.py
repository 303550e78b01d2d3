"""Two-hop chains e1 -r1-> e2 -r2-> e3 composed from LRE relations, in TwoHopFact's column schema.

A pair (r1, r2) composes where r1's range is r2's domain (``properties.range_name`` /
``domain_name``) and an object of r1 is, string for string, a subject of r2. The two-hop prompt is
r2's template filled with a *descriptive mention* of e2 built from r1 and e1
(``MENTIONS``: "the country where Bastille is located"); the subject cut is that prompt up to the
end of the mention (the reference's ``get_subject_prompt``: its last case-insensitive occurrence).

Rules, each stated once:

- r1 needs a mention in ``MENTIONS``; relations without one (the bias relations' stereotypes,
  ``person_native_language``: no relation has languages as subjects, ...) are not used as r1.
- r2 needs a template where the subject is not followed by ``'s``: a possessive after a
  mention ("the father of X's mother") reads as another fact, so ``person_father``,
  ``person_mother`` and ``superhero_person`` are not used as r2.
- A symmetric relation is not composed with itself ("the opposite of the opposite of close").
- A subject of r1 with two different objects has no single bridge and is skipped; an e2 with
  several r2 objects keeps the first as e3 and all of them as e3's aliases.
- A chain whose answer is its subject (e3 = e1: "the capital city of France is in the country of")
  or whose e1 names e2 or e3 ("Bank of Japan") is skipped.
- Relations are read in path order and samples in file order, ``--max-per-pair`` draws with a
  generator seeded by (seed, r1, r2): the same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qxbench.data.lre import Relation
from qxbench.errors import QxError

__all__ = ["COLUMNS", "MENTIONS", "TEMPLATES", "Chain", "compose", "pairs", "prompt_template", "subject_cut",
           "to_csv", "unphrased"]

# r1 -> the descriptive mention of r1(e1); "{}" is e1. Those of ../shared/golden/multihop.json first.
MENTIONS: dict[str, str] = {
    "food_from_country": "the country {} is from",
    "landmark_in_country": "the country where {} is located",
    "city_in_country": "the country where {} is located",
    "product_by_company": "the company that created {}",
    "company_hq": "the city where {} is headquartered",
    "company_ceo": "the CEO of {}",
    "country_capital_city": "the capital city of {}",
    "country_largest_city": "the largest city in {}",
    "person_father": "the father of {}",
    "person_mother": "the mother of {}",
    "person_university": "the university {} attended",
    "pokemon_evolutions": "the Pokémon {} evolves into",
    "superhero_archnemesis": "the archnemesis of {}",
    "adj_antonym": "the opposite of {}",
}
# A relation's prompt template when it is not the first one without a possessive: these two name the
# country ("is in the country of", "is from the country of"), as the golden rows do.
TEMPLATES: dict[str, int] = {"city_in_country": 1, "food_from_country": 1}

COLUMNS = ("uid", "r1.type", "r2.type", "r1.template", "r2.template", "e1.value", "e1.aliases", "e2.value",
           "e2.aliases", "e3.value", "e3.aliases", "r1(e1).descriptive_mention", "r1(e1).prompt", "r2(e2).prompt",
           "r2(r1(e1)).prompt", "r2(r1(e1)).subject_cut.prompt")


def _possessive(template: str) -> bool:
    return "{}'s" in template or "{}\u2019s" in template


def prompt_template(relation: Relation) -> str | None:
    """``TEMPLATES``' choice, else the first template without a possessive subject; None if every one has it."""
    if relation.name in TEMPLATES and TEMPLATES[relation.name] < len(relation.templates):
        return relation.templates[TEMPLATES[relation.name]]
    return next((t for t in relation.templates if "{}" in t and not _possessive(t)), None)


def _fill(template: str, subject: str) -> str:
    return template.replace("{}", subject, 1)


def subject_cut(prompt: str, mention: str) -> str:
    """The prompt up to the end of the mention's last case-insensitive occurrence."""
    start = prompt.lower().rfind(mention.lower())
    if start < 0:
        raise QxError(f"Mention '{mention}' does not occur in the prompt '{prompt}'")
    return prompt[: start + len(mention)]


@dataclass(frozen=True)
class Chain:
    uid: str
    r1: str
    r2: str
    r1_template: str
    r2_template: str
    e1: str
    e2: str
    e3: str
    e3_aliases: tuple[str, ...]
    mention: str

    def row(self) -> dict[str, str]:
        two_hop = _fill(self.r2_template, self.mention)
        two_hop = two_hop[:1].upper() + two_hop[1:]  # "the CEO of Gazprom speaks" starts a sentence
        return {"uid": self.uid, "r1.type": self.r1, "r2.type": self.r2, "r1.template": self.r1_template,
                "r2.template": self.r2_template, "e1.value": self.e1, "e1.aliases": repr([self.e1]),
                "e2.value": self.e2, "e2.aliases": repr([self.e2]), "e3.value": self.e3,
                "e3.aliases": repr(list(self.e3_aliases)), "r1(e1).descriptive_mention": self.mention,
                "r1(e1).prompt": _fill(self.r1_template, self.e1), "r2(e2).prompt": _fill(self.r2_template, self.e2),
                "r2(r1(e1)).prompt": two_hop, "r2(r1(e1)).subject_cut.prompt": subject_cut(two_hop, self.mention)}


def _objects(relation: Relation) -> dict[str, list[str]]:
    """subject -> its distinct objects, in file order."""
    out: dict[str, list[str]] = {}
    for subject, obj in relation.samples:
        objects = out.setdefault(subject, [])
        if obj not in objects:
            objects.append(obj)
    return out


def _names(text: str, entity: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(entity)}(?!\w)", text, flags=re.IGNORECASE) is not None


def _pair_chains(r1: Relation, r2: Relation, mention: str) -> list[Chain]:
    t1, t2 = prompt_template(r1) or r1.templates[0], prompt_template(r2) or r2.templates[0]  # pairs() checked r2
    second = _objects(r2)
    chains = []
    for i, (e1, objects) in enumerate(_objects(r1).items()):
        if len(objects) != 1 or objects[0] not in second:
            continue
        e2 = objects[0]
        e3s = second[e2]
        if e3s[0].lower() == e1.lower() or _names(e1, e2) or any(_names(e1, e3) for e3 in e3s):
            continue
        chains.append(Chain(f"{r1.name}/{r2.name}/{i}", r1.name, r2.name, t1, t2, e1, e2, e3s[0], tuple(e3s),
                            _fill(mention, e1)))
    return chains


def pairs(relations: Sequence[Relation], mentions: Mapping[str, str] = MENTIONS) -> list[tuple[Relation, Relation]]:
    """(r1, r2) with a mention for r1, a usable template for r2, r1's range = r2's domain and a shared entity."""
    out = []
    for r1 in relations:
        if r1.name not in mentions or not r1.range_name:
            continue
        objects = {o for _, o in r1.samples}
        for r2 in relations:
            if (r2.domain_name == r1.range_name and prompt_template(r2) is not None
                    and not (r2.name == r1.name and r1.symmetric)
                    and objects & {s for s, _ in r2.samples}):
                out.append((r1, r2))
    return out


def unphrased(relations: Sequence[Relation], mentions: Mapping[str, str] = MENTIONS) -> list[str]:
    """Relations that would meet another one as r1 but have no mention."""
    out = []
    for r1 in relations:
        objects = {o for _, o in r1.samples}
        if r1.name not in mentions and r1.range_name and any(
                r2.domain_name == r1.range_name and objects & {s for s, _ in r2.samples} for r2 in relations):
            out.append(r1.name)
    return out


def compose(relations: Sequence[Relation], max_per_pair: int | None = None, seed: int = 0,
            mentions: Mapping[str, str] = MENTIONS) -> list[Chain]:
    """Every chain of every composable pair (pairs in ``relations`` order); at most ``max_per_pair`` per pair,
    drawn without replacement and kept in file order; ``mentions``: r1 name -> mention template ("{}" = e1).
    No chain at all is an error."""
    if max_per_pair is not None and max_per_pair < 1:
        raise QxError(f"max_per_pair must be at least 1, got {max_per_pair}")
    chains: list[Chain] = []
    for r1, r2 in pairs(relations, mentions):
        found = _pair_chains(r1, r2, mentions[r1.name])
        if max_per_pair is not None and len(found) > max_per_pair:
            keep = sorted(random.Random(f"{seed}:{r1.name}:{r2.name}").sample(range(len(found)), max_per_pair))
            found = [found[k] for k in keep]
        chains += found
    if not chains:
        names = ", ".join(r.name for r in relations) or "(none)"
        raise QxError(f"No composable relation pairs among {names}: r1 needs a mention (one of "
                      f"{', '.join(sorted(mentions))}) and an object that is a subject of r2, r1's range = r2's domain")
    return chains


def to_csv(chains: Sequence[Chain], path: str | Path | None = None) -> str:
    """The chains as CSV text (``COLUMNS``, aliases as Python list strings, ``\\n`` line ends); written to ``path``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(chain.row() for chain in chains)
    text = buffer.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8", newline="")
    return text
