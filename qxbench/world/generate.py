"""The synthetic world: entities, one-hop facts, two-hop chains and templated reviews.

Everything is a pure function of :class:`WorldSpec` (seeded), so the training corpus and the
evaluation files can be regenerated bit for bit. Only the evaluation split ships with the
package (``qxbench/world/data``); the training split is rebuilt by ``qxbench world build``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from qxbench.world.names import make_names


@dataclass(frozen=True)
class WorldSpec:
    seed: int = 20261123
    n_countries: int = 24
    n_languages: int = 8
    n_first_names: int = 36
    n_last_names: int = 36
    n_people: int = 160
    twohop_eval_share: float = 0.25
    n_reviews_train: int = 2400
    n_reviews_eval: int = 400
    heldout_combo_share: float = 0.25


@dataclass(frozen=True)
class Relation:
    """An LRE-style relation: a prompt template whose ``{}`` is the subject."""

    name: str
    template: str  # "The capital of {} is"
    mention: str  # descriptive mention of the object, e.g. "the birth country of {}"
    subject_kind: str
    object_kind: str


RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in (
        Relation("capital", "The capital of {} is", "the capital of {}", "country", "city"),
        Relation("language", "The official language of {} is", "the official language of {}", "country", "language"),
        Relation("birthplace", "{} was born in", "the birth country of {}", "person", "country"),
    )
}
# (r1, r2) pairs that form two-hop chains: r2(r1(e1)).
TWO_HOP_CHAINS: tuple[tuple[str, str], ...] = (("birthplace", "capital"), ("birthplace", "language"))


@dataclass(frozen=True)
class Fact:
    relation: str
    subject: str
    object: str
    aliases: tuple[str, ...]

    @property
    def prompt(self) -> str:
        return RELATIONS[self.relation].template.format(self.subject)

    @property
    def sentence(self) -> str:
        return f"{self.prompt} {self.object}."


@dataclass(frozen=True)
class TwoHop:
    """A TwoHopFact-style chain e1 -r1-> e2 -r2-> e3 with its four prompts."""

    e1: str
    r1: str
    e2: str
    r2: str
    e3: str
    e2_aliases: tuple[str, ...]
    e3_aliases: tuple[str, ...]
    split: str  # "train" (two-hop sentence seen in training) or "eval" (held out)

    @property
    def mention(self) -> str:
        """The descriptive mention of the bridge entity e2, e.g. "the birth country of X"."""
        return RELATIONS[self.r1].mention.format(self.e1)

    @property
    def prompt(self) -> str:
        return RELATIONS[self.r2].template.format(self.mention)

    @property
    def subject_cut_prompt(self) -> str:
        """The two-hop prompt cut right after the descriptive mention (EntRec reads its last token)."""
        head = RELATIONS[self.r2].template.split("{}")[0]
        return head + self.mention

    @property
    def r1_prompt(self) -> str:
        return RELATIONS[self.r1].template.format(self.e1)

    @property
    def r2_prompt(self) -> str:
        return RELATIONS[self.r2].template.format(self.e2)

    def row(self) -> dict[str, object]:
        """The TwoHopFact CSV column schema (soheeyang/TwoHopFact), plus our split."""
        return {
            "e1.value": self.e1,
            "r1.type": self.r1,
            "r2.type": self.r2,
            "r1(e1).prompt": self.r1_prompt,
            "r2(e2).prompt": self.r2_prompt,
            "r2(r1(e1)).prompt": self.prompt,
            "r2(r1(e1)).subject_cut.prompt": self.subject_cut_prompt,
            "e2.value": self.e2,
            "e2.aliases": list(self.e2_aliases),
            "e3.value": self.e3,
            "e3.aliases": list(self.e3_aliases),
            "split": self.split,
        }


ASPECTS = ("stew", "bread", "soup", "tea", "service", "staff", "room", "bed",
           "view", "music", "garden", "market", "ferry", "museum", "guide", "bath")
# Antonym pairs (positive, negative): a counterfactual swaps one for the other.
POLAR_PAIRS = (("tasty", "bland"), ("friendly", "rude"), ("clean", "dirty"), ("lovely", "awful"),
               ("quiet", "noisy"), ("warm", "cold"), ("fresh", "stale"), ("cheap", "pricey"),
               ("superb", "dreadful"), ("cozy", "cramped"), ("bright", "gloomy"), ("charming", "dull"))
NEUTRAL = ("small", "old", "blue", "round", "new", "wooden", "tall", "plain")
SEASONS = ("spring", "summer", "autumn", "winter")
OPENERS = ("I stayed in {city} in {season}.", "We visited {city} last {season}.", "My trip to {city} was in {season}.")
LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Review:
    text: str
    label: str
    explanation: str
    counterfactual: str
    cf_label: str
    polar_words: tuple[str, ...]
    split: str

    def rows(self) -> dict[str, object]:
        return {
            "text": self.text,
            "label": self.label,
            "explanation": self.explanation,
            "counterfactual": self.counterfactual,
            "cf_label": self.cf_label,
            "polar_words": list(self.polar_words),
            "split": self.split,
        }


@dataclass(frozen=True)
class World:
    spec: WorldSpec
    countries: tuple[str, ...]
    facts: tuple[Fact, ...]
    twohops: tuple[TwoHop, ...]
    reviews: tuple[Review, ...]
    heldout_combos: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def facts_of(self, relation: str) -> dict[str, Fact]:
        return {f.subject: f for f in self.facts if f.relation == relation}


def _review(rng: random.Random, cities: tuple[str, ...], combos: list[tuple[str, int]], split: str) -> Review:
    positive = rng.random() < 0.5
    label, cf_label = (LABELS[1], LABELS[0]) if positive else (LABELS[0], LABELS[1])
    n_polar = rng.choice((1, 1, 2))
    picked: list[tuple[str, int]] = []
    while len(picked) < n_polar:
        c = rng.choice(combos)
        if all(c[0] != p[0] for p in picked):
            picked.append(c)
    side = 0 if positive else 1
    clauses = [(a, POLAR_PAIRS[i][side], POLAR_PAIRS[i][1 - side], True) for a, i in picked]
    if rng.random() < 0.5:
        used = {a for a, _ in picked}
        aspect = rng.choice([a for a in ASPECTS if a not in used])
        clauses.append((aspect, rng.choice(NEUTRAL), "", False))
    rng.shuffle(clauses)
    verb = rng.choice(("was", "seemed"))
    opener = rng.choice(OPENERS).format(city=rng.choice(cities), season=rng.choice(SEASONS))

    def render(flip: bool) -> str:
        body = " ".join(f"The {a} {verb} {(anti if flip and polar else adj)}." for a, adj, anti, polar in clauses)
        return f"{opener} {body}"

    said = " and ".join(f"the {a} {verb} {adj}" for a, adj, _, polar in clauses if polar)
    return Review(
        text=render(False),
        label=label,
        explanation=f"The review says {said}, which is {label}.",
        counterfactual=render(True),
        cf_label=cf_label,
        polar_words=tuple(adj for _, adj, _, polar in clauses if polar),
        split=split,
    )


def build_world(spec: WorldSpec | None = None) -> World:
    """Build the whole world deterministically from ``spec``."""
    spec = spec or WorldSpec()
    rng = random.Random(spec.seed)
    taken: set[str] = set()
    countries = tuple(
        make_names(rng, spec.n_countries, syllables=(1, 2), suffixes=("ia", "land", "ora", "stan"), taken=taken)
    )
    cities = tuple(make_names(rng, spec.n_countries, syllables=(2,), suffixes=("", "ton", "burg"), taken=taken))
    languages = tuple(make_names(rng, spec.n_languages, syllables=(2,), suffixes=("ish", "ese", "ic"), taken=taken))
    firsts = make_names(rng, spec.n_first_names, syllables=(2,), taken=taken)
    lasts = make_names(rng, spec.n_last_names, syllables=(1, 2), taken=taken)
    if spec.n_people > len(firsts) * len(lasts):
        raise ValueError(f"n_people={spec.n_people} exceeds the {len(firsts) * len(lasts)} first/last combinations")
    pairs = [(first, last) for first in firsts for last in lasts]
    people = [f"{first} {last}" for first, last in rng.sample(pairs, spec.n_people)]

    facts: list[Fact] = []
    for country, city in zip(countries, cities, strict=True):
        facts.append(Fact("capital", country, city, (city,)))
    for country in countries:
        lang = rng.choice(languages)
        facts.append(Fact("language", country, lang, (lang,)))
    for person in people:
        country = rng.choice(countries)
        facts.append(Fact("birthplace", person, country, (country,)))

    by_rel = {r: {f.subject: f for f in facts if f.relation == r} for r in RELATIONS}
    eval_people = set(rng.sample(people, round(spec.twohop_eval_share * len(people))))
    twohops: list[TwoHop] = []
    for person in people:
        for r1, r2 in TWO_HOP_CHAINS:
            e2 = by_rel[r1][person].object
            e3 = by_rel[r2][e2].object
            twohops.append(TwoHop(person, r1, e2, r2, e3, (e2,), (e3,), "eval" if person in eval_people else "train"))

    combos = [(a, i) for a in ASPECTS for i in range(len(POLAR_PAIRS))]
    heldout = set(rng.sample(combos, round(spec.heldout_combo_share * len(combos))))
    train_combos = [c for c in combos if c not in heldout]
    eval_combos = sorted(heldout)
    reviews = [_review(rng, cities, train_combos, "train") for _ in range(spec.n_reviews_train)]
    train_texts = {r.text for r in reviews}
    n_eval = 0
    while n_eval < spec.n_reviews_eval:
        r = _review(rng, cities, eval_combos, "eval")
        if r.text not in train_texts:
            reviews.append(r)
            train_texts.add(r.text)
            n_eval += 1
    return World(spec, countries, tuple(facts), tuple(twohops), tuple(reviews), frozenset(heldout))


def review_docs(review: Review) -> dict[str, str]:
    """The three prompt formats the model is trained on and probed with."""
    opposite = LABELS[1 - LABELS.index(review.label)]
    head = f"Review: {review.text}\nSentiment: {review.label}"
    return {
        "classify": head,
        "explain": f"{head}\nExplanation: {review.explanation}",
        "rewrite": f"{head}\nRewrite as {opposite}: {review.counterfactual}",
    }


def training_documents(world: World, *, fact_repeats: int = 3) -> list[str]:
    """The training corpus: every fact (repeated), train-split two-hop sentences, train reviews.

    Each training review appears once, as either an explanation or a rewrite document (both
    start with the classification).
    """
    rng = random.Random(world.spec.seed + 1)
    docs: list[str] = [f.sentence for f in world.facts for _ in range(fact_repeats)]
    docs += [f"{t.prompt} {t.e3}." for t in world.twohops if t.split == "train" for _ in range(fact_repeats)]
    for r in world.reviews:
        if r.split == "train":
            docs.append(review_docs(r)[rng.choice(("explain", "rewrite"))])
    return docs
