"""Instruction-contrast records: the instruction alone decides which candidate is the positive.

A *two-label pool* holds texts that each carry two independent labels, e.g. their source (app review, tweet,
poem verse, ...) and their polarity. For an anchor x and a pair of properties (p, q):

- a = a text with x's label for p and another label for q (the positive when p is asked),
- b = a text with another label for p and x's label for q (the positive when q is asked).

Two records form a *contrast group*: `[instr(p), x] -> pos a, neg b` and `[instr(q), x] -> pos b, neg a`:
the positive under one instruction is the hard negative under the other ("instruction negatives"). Among
the candidates, a and b are the most similar to x without instruction (a few top ones, drawn by seed), so
the plain embedding cannot tell them apart and only the instruction can.

Query-target contrast (pair data): a premise's entailed sentence under "find what it entails" is the
negative under "find what contradicts it", and the reverse (`snli_contradiction`).

Every record carries `"kind": "contrast"` and a `"group"` id; the trainer keeps a group in one batch.
Instruction wordings are drawn from several templates per property, so the model learns the request, not
one string. Whole sources are held out of training for the dev steering sets (`DEV_STEERING`).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instructembed.atomic_file import write_text_atomic
from instructembed.medi.records import Record

KIND = "contrast"


@dataclass(frozen=True)
class LabelSource:
    """One Super-NI task read as texts of one source with one label: raw output -> label (None = drop)."""

    task: str
    source: str  # what the text is, as an instruction names it ("app review", "tweet")
    labels: dict[str, str | None]
    article: str = "a"


@dataclass(frozen=True)
class Pool:
    """Texts of several sources with a second property; the two properties are "source" and `property`."""

    name: str
    property: str
    sources: tuple[LabelSource, ...]


def _pn(pos: str, neg: str, **more: str | None) -> dict[str, str | None]:
    return {pos: "positive", neg: "negative", **more}


POLARITY_TRAIN = Pool("source-polarity", "sentiment", (
    LabelSource("task1312_amazonreview_polarity_classification", "product review", _pn("positive", "negative")),
    LabelSource("task284_imdb_classification", "movie review", _pn("positive", "negative")),
    LabelSource("task475_yelp_polarity_classification", "Yelp review", _pn("POSITIVE", "NEGATIVE")),
    LabelSource("task478_cls_english_music_classification", "music album review", _pn("POS", "NEG")),
    LabelSource("task493_review_polarity_classification", "product review", _pn("Positive", "Negative")),
    LabelSource("task586_amazonfood_polarity_classification", "food product review", _pn("Positive", "Negative")),
    LabelSource("task746_yelp_restaurant_review_classification", "Yelp review", _pn("positive", "negative")),
    LabelSource("task902_deceptive_opinion_spam_classification", "hotel review", _pn("positive", "negative")),
    LabelSource("task195_sentiment140_classification", "tweet", _pn("positive", "negative")),
    LabelSource("task761_app_review_classification", "app review", _pn("Positive", "Negative"), "an"),
    LabelSource("task1338_peixian_equity_evaluation_corpus_sentiment_classifier", "sentence about a feeling",
                {"joy": "positive", "fear": "negative", "anger": "negative", "sadness": "negative"}),
    LabelSource("task517_emo_classify_emotion_of_dialogue", "chat message",
                {"happy": "positive", "angry": "negative", "sad": "negative", "other": None}),
))
TOXICITY_TRAIN = Pool("source-toxicity", "toxicity", (
    LabelSource("task327_jigsaw_classification_toxic", "online comment", {"Toxic": "toxic", "Non-toxic": "not toxic"}, "an"),
    LabelSource("task609_sbic_potentially_offense_binary_classification", "tweet", {"Yes": "toxic", "No": "not toxic"}),
    LabelSource("task1502_hatexplain_classification", "social media post",
                {"Hate Speech": "toxic", "Offensive": "toxic", "Normal": "not toxic"}),
    LabelSource("task1720_civil_comments_toxicity_classification", "news comment", {"Yes": "toxic", "No": "not toxic"}),
))
# More properties over the same kinds of text, so the model learns to read which property is asked
# (not only sentiment vs toxicity); each is two sources x one shared property.
EMOTION_TRAIN = Pool("source-emotion", "emotion", (
    LabelSource("task517_emo_classify_emotion_of_dialogue", "chat message",
                {"happy": "joy", "angry": "anger", "sad": "sadness", "other": None}),
    LabelSource("task1338_peixian_equity_evaluation_corpus_sentiment_classifier", "sentence about a feeling",
                {"joy": "joy", "anger": "anger", "sadness": "sadness", "fear": None}),
))
OBSCENITY_TRAIN = Pool("source-obscenity", "obscenity", (
    LabelSource("task326_jigsaw_classification_obscene", "online comment",
                {"Obscene": "obscene", "Non-obscene": "not obscene"}, "an"),
    LabelSource("task1721_civil_comments_obscenity_classification", "news comment", {"Yes": "obscene", "No": "not obscene"}),
))
INSULT_TRAIN = Pool("source-insult", "insult", (
    LabelSource("task328_jigsaw_classification_insult", "online comment", {"Insult": "insult", "Non-insult": "no insult"}, "an"),
    LabelSource("task1724_civil_comments_insult_classification", "news comment", {"Yes": "insult", "No": "no insult"}),
))
THREAT_TRAIN = Pool("source-threat", "threat", (
    LabelSource("task322_jigsaw_classification_threat", "online comment", {"Threat": "threat", "Non-threat": "no threat"}, "an"),
    LabelSource("task1722_civil_comments_threat_classification", "news comment", {"Yes": "threat", "No": "no threat"}),
))
ALL_TRAIN_POOLS = (POLARITY_TRAIN, TOXICITY_TRAIN, EMOTION_TRAIN, OBSCENITY_TRAIN, INSULT_TRAIN, THREAT_TRAIN)
TRAIN_POOLS = (POLARITY_TRAIN, TOXICITY_TRAIN)  # the default build: the pools the shipped model was trained on


def train_pools(names: str | None) -> tuple[Pool, ...]:
    """The training pools named in a comma list ("all", or pool names, or properties); None: the default."""
    if names is None:
        return TRAIN_POOLS
    if names.strip() == "all":
        return ALL_TRAIN_POOLS
    by_name = {key: pool for pool in ALL_TRAIN_POOLS for key in (pool.name, pool.property)}
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in by_name:
            known = ", ".join(pool.property for pool in ALL_TRAIN_POOLS)
            raise ValueError(f"unknown contrast pool {name!r} (known: all, {known})")
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    if not chosen:
        raise ValueError("no contrast pool named")
    return tuple(chosen)


@dataclass(frozen=True)
class PropertyTask:
    """One Super-NI classification task whose label is a property of the text alone (spam, tense, subject, ...)."""

    task: str
    type: str  # what the text is ("text message", "trivia question")
    property: str  # what the label is ("spam", "subject"), as an instruction names it
    labels: dict[str, str | None]  # raw output -> label name (as instructions name it; None = drop)


def _named(*names: str) -> dict[str, str | None]:
    return {name: name.lower() for name in names}


# Property-vs-similarity contrast: many properties over many domains, so the model learns to read which property an
# instruction asks for. None is sentiment, toxicity or figurative language (those are what the dev sets measure),
# and none shares a source with a dev steering set.
PROPERTY_TASKS = (
    PropertyTask("task109_smsspamcollection_spamsmsdetection", "text message", "spam", {"spam": "spam", "ham": "not spam"}),
    PropertyTask("task1533_daily_dialog_formal_classification", "conversation", "formality", _named("formal", "informal")),
    PropertyTask("task1531_daily_dialog_type_classification", "dialogue utterance", "dialogue act",
                 _named("information", "question", "directive", "commissive")),
    PropertyTask("task197_mnli_domain_answer_generation", "pair of sentences", "genre",
                 {"fiction": "fiction", "slate": "magazine", "telephone": "telephone conversation",
                  "travel": "travel guide", "government": "government report"}),
    PropertyTask("task767_craigslist_bargains_classification", "negotiation", "kind of item sold",
                 _named("electronics", "phone", "car", "furniture", "bike", "housing")),
    PropertyTask("task521_trivia_question_classification", "trivia question", "subject",
                 _named("Literature", "History", "Social Science", "Science", "Fine Arts")),
    PropertyTask("task1434_head_qa_classification", "exam question", "field",
                 {**_named("chemistry", "biology", "pharmacology", "psychology", "medicine"), "nursery": "nursing"}),
    PropertyTask("task744_eurlex_classification", "legal act", "kind of legal act", _named("Decision", "Regulation", "Directive")),
    PropertyTask("task1630_openpi_classification", "how-to passage", "category",
                 _named("Home and Garden", "Food and Entertaining", "Hobbies and Crafts", "Sports and Fitness",
                        "Cars & Other Vehicles")),
    PropertyTask("task679_hope_edi_english_text_classification", "comment", "hope speech",
                 {"Hope Speech": "hope speech", "Not Hope Speech": "not hope speech"}),
    PropertyTask("task282_scruples_event_time", "anecdote", "time",
                 {"HISTORICAL": "something that happened", "HYPOTHETICAL": "something that may happen"}),
    PropertyTask("task274_overruling_legal_classification", "legal sentence", "ruling",
                 {"overruling": "overruling", "non-overruling": "not overruling"}),
    PropertyTask("task616_cola_classification", "sentence", "grammaticality",
                 {"acceptable": "grammatical", "unacceptable": "ungrammatical"}),
    PropertyTask("task429_senteval_tense", "sentence", "tense", _named("Past", "Present")),
    PropertyTask("task430_senteval_subject_count", "sentence", "grammatical number of the subject", _named("Singular", "Plural")),
    PropertyTask("task1336_peixian_equity_evaluation_corpus_gender_classifier", "sentence", "gender of the person",
                 _named("female", "male")),
    PropertyTask("task115_help_advice_classification", "text", "advice", {"yes": "advice", "no": "not advice"}),
    PropertyTask("task375_classify_type_of_sentence_in_debate", "debate sentence", "kind of claim",
                 _named("Value", "Fact", "Policy", "Testimony")),
    PropertyTask("task881_schema_guided_dstc8_classification", "user request", "service",
                 {"Flights": "flights", "Media": "media", "Buses": "buses", "Travel": "travel", "RideSharing": "ride sharing"}),
    PropertyTask("task880_schema_guided_dstc8_classification", "dialogue turn", "dialogue act",
                 {"REQUEST": "request", "REQUEST_ALTS": "request for alternatives", "INFORM_INTENT": "intent",
                  "INFORM": "information", "OFFER": "offer"}),
    PropertyTask("task673_google_wellformed_query_classification", "search query", "form",
                 {"Good": "well-formed", "Bad": "badly formed"}),
    PropertyTask("task209_stancedetection_classification", "argument", "stance", _named("against", "in favor", "neutral")),
)
PROPERTY_WORDINGS = (
    "Represent the {type} for classifying its {prop}: ",
    "Represent the text for classifying it as {choices}: ",
    "Represent the {type} for deciding whether it is {choices}: ",
    "Represent the text for grouping texts by {prop}: ",
    "Represent the sentence for identifying its {prop}: ",
)
SIMILARITY_WORDINGS = (
    "Represent the {type} for retrieving texts with the same content: ",
    "Represent the text for finding texts with similar content: ",
    "Represent the sentence for retrieving semantically similar sentences: ",
    "Represent the {type} for retrieving similar texts: ",
)

# Dev steering sets: sources (and one property) that no training record comes from.
DEV_STEERING = (
    Pool("DevPolaritySteering", "sentiment", (
        LabelSource("task833_poem_sentiment_classification", "poem verse", _pn("positive", "negative")),
        LabelSource("task889_goemotions_classification", "Reddit comment",
                    {"joy": "positive", "anger": "negative", "sadness": "negative"}),
        LabelSource("task843_financial_phrasebank_classification", "financial news sentence", _pn("positive", "negative", neutral=None)),
    )),
    Pool("DevToxicitySteering", "toxicity", (
        LabelSource("task1604_ethos_text_classification", "online comment", {"hate": "toxic", "not hate": "not toxic"}, "an"),
        LabelSource("task904_hate_speech_offensive_classification", "tweet",
                    {"Offensive": "toxic", "Hate Speech": "toxic", "Neither": "not toxic"}),
    )),
    Pool("DevFigurativeSteering", "figurative", (  # a property never trained on
        LabelSource("task1488_sarcasmdetection_headline_classification", "news headline",
                    {"sarcastic": "figurative", "non-sarcastic": "literal"}),
        LabelSource("task386_semeval_2018_task3_irony_detection", "tweet", {"ironic": "figurative", "not": "literal"}),
    )),
)
DEV_TASKS = frozenset(s.task for pool in DEV_STEERING for s in pool.sources)

# Training wordings: the template plus paraphrases; {type} is the text type, {a}/{b} two sources.
TRAIN_WORDINGS: dict[str, tuple[str, ...]] = {
    "source": (
        "Represent the text for classifying whether it is {a} or {b}: ",
        "Represent the {type} for classifying its source: ",
        "Represent the text for classifying what kind of text it is: ",
        "Represent the sentence for identifying its genre: ",
        "Represent the text for deciding whether it comes from {a} or {b}: ",
        "Represent the document for classifying where it was written: ",
    ),
    "sentiment": (
        "Represent the text for classifying its sentiment as positive or negative: ",
        "Represent the {type} for classifying its sentiment: ",
        "Represent the text for classifying whether its tone is positive or negative: ",
        "Represent the sentence for detecting the emotion it expresses, good or bad: ",
        "Represent the text for classifying the writer's attitude: ",
        "Represent the document for sentiment analysis: ",
    ),
    "emotion": (
        "Represent the text for classifying the emotion it expresses: ",
        "Represent the {type} for classifying the writer's emotion: ",
        "Represent the sentence for detecting whether it expresses joy, anger or sadness: ",
        "Represent the text for identifying the feeling behind it: ",
        "Represent the message for emotion recognition: ",
    ),
    "obscenity": (
        "Represent the text for classifying whether it is obscene: ",
        "Represent the {type} for detecting obscene language: ",
        "Represent the comment for classifying whether it uses vulgar words: ",
        "Represent the text for detecting profanity: ",
    ),
    "insult": (
        "Represent the text for classifying whether it is an insult: ",
        "Represent the {type} for detecting insults: ",
        "Represent the comment for classifying whether it insults someone: ",
        "Represent the text for detecting personal attacks: ",
    ),
    "threat": (
        "Represent the text for classifying whether it contains a threat: ",
        "Represent the {type} for detecting threats: ",
        "Represent the comment for classifying whether it threatens someone: ",
        "Represent the text for detecting violent threats: ",
    ),
    "toxicity": (
        "Represent the text for classifying whether it is toxic: ",
        "Represent the {type} for classifying its toxicity: ",
        "Represent the comment for detecting offensive language: ",
        "Represent the text for classifying whether it is abusive or harmless: ",
        "Represent the sentence for detecting hate or insults: ",
    ),
}
# Dev wordings: none of them is a training wording (what recipes are chosen on).
DEV_WORDINGS: dict[str, str] = {
    "source": "Represent the text for telling whether it is {sources}: ",
    "sentiment": "Represent the text for telling whether the writer feels good or bad: ",
    "toxicity": "Represent the text for telling whether it is offensive or not: ",
    "figurative": "Represent the text for telling whether it is meant literally or sarcastically: ",
}
ENTAIL_WORDINGS = (
    "Represent the premise for retrieving a sentence it entails: ",
    "Represent the caption for finding a statement that follows from it: ",
    "Represent the sentence for retrieving a hypothesis that must be true given it: ",
)
CONTRADICT_WORDINGS = (
    "Represent the premise for retrieving a sentence that contradicts it: ",
    "Represent the caption for finding a statement that cannot be true given it: ",
    "Represent the sentence for retrieving a hypothesis it rules out: ",
)
HYPOTHESIS_INSTRUCTION = "Represent the hypothesis sentence for retrieval: "

PREFIX = re.compile(r"^\s*(comment|review|reviews|tweet|text|sentence|post)\s*:\s*", re.IGNORECASE)


@dataclass
class LabelledText:
    text: str
    labels: dict[str, str]


@dataclass
class PoolReport:
    name: str
    properties: tuple[str, str]
    split: str
    texts: int = 0
    groups: int = 0
    records: int = 0
    sources: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def clean_text(raw: str) -> str:
    return " ".join(PREFIX.sub("", raw).split())


def read_pool(pool: Pool, sni_dir: Path, max_per_cell: int, seed: int, max_chars: int = 2000) -> tuple[list[LabelledText], PoolReport]:
    """Texts of the pool's sources with (source, property) labels; at most `max_per_cell` per (source, label),
    a seeded sample; duplicates (case-insensitive) and texts under 20 characters dropped."""
    report = PoolReport(pool.name, ("source", pool.property), "")
    out: list[LabelledText] = []
    seen: set[str] = set()
    skipped: dict[str, int] = {}
    for source in pool.sources:
        path = Path(sni_dir) / f"{source.task}.json"
        if not path.is_file():
            skipped[f"{source.task}: task file missing"] = 1
            continue
        instances = json.loads(path.read_text(encoding="utf-8"))["Instances"]
        cells: dict[str, list[str]] = {}
        for instance in instances:
            outputs = instance.get("output") or []
            label = source.labels.get(outputs[0].strip()) if outputs else None
            text = clean_text(instance.get("input", ""))
            key = text.lower()
            if label is None or len(text) < 20 or len(text) > max_chars or key in seen:
                skipped["unlabelled, short, long or duplicate"] = skipped.get("unlabelled, short, long or duplicate", 0) + 1
                continue
            seen.add(key)
            cells.setdefault(label, []).append(text)
        rng = random.Random(f"{seed}:{pool.name}:{source.task}")
        for label in sorted(cells):
            chosen = cells[label]
            rng.shuffle(chosen)
            for text in chosen[:max_per_cell]:
                out.append(LabelledText(text, {"source": source.source, pool.property: label}))
        report.sources[source.source] = report.sources.get(source.source, 0) + sum(min(len(v), max_per_cell) for v in cells.values())
    report.texts, report.skipped = len(out), skipped
    return out, report


def _article(pool: Pool, source: str) -> str:
    for s in pool.sources:
        if s.source == source:
            return f"{s.article} {source}"
    return f"a {source}"


def wording(pool: Pool, prop: str, rng: random.Random, x: LabelledText, other: LabelledText) -> str:
    """One training wording for `prop`, filled in for the anchor x and a text of another source."""
    template = rng.choice(TRAIN_WORDINGS[prop])
    a, b = _article(pool, x.labels["source"]), _article(pool, other.labels["source"])
    if rng.random() < 0.5:
        a, b = b, a
    return template.format(type=x.labels["source"], a=a, b=b)


def contrast_records(
    pool: Pool,
    items: list[LabelledText],
    vectors: np.ndarray,
    seed: int,
    top: int = 3,
    group_prefix: str = "",
) -> list[Record]:
    """Two records (one contrast group) per anchor that has both kinds of candidate; see the module doc."""
    p, q = "source", pool.property
    rng = random.Random(f"{seed}:{pool.name}:records")
    labels_p = np.array([t.labels[p] for t in items])
    labels_q = np.array([t.labels[q] for t in items])
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    records: list[Record] = []
    task_id = f"contrast:{pool.name}"
    for i, x in enumerate(items):
        same_p, same_q = labels_p == labels_p[i], labels_q == labels_q[i]
        cand_a = np.flatnonzero(same_p & ~same_q)  # positive when p is asked
        cand_b = np.flatnonzero(~same_p & same_q)  # positive when q is asked
        if not len(cand_a) or not len(cand_b):
            continue
        best_a = cand_a[np.argsort(-sims[i, cand_a])[:top]]
        best_b = cand_b[np.argsort(-sims[i, cand_b])[:top]]
        a, b = items[int(rng.choice(best_a))], items[int(rng.choice(best_b))]
        group = f"{group_prefix}{pool.name}:{i}"
        ip, iq = wording(pool, p, rng, x, b), wording(pool, q, rng, x, b)
        records.append(_record(task_id, group, (ip, x.text), (ip, a.text), (ip, b.text), _labels(p, x, a, b)))
        records.append(_record(task_id, group, (iq, x.text), (iq, b.text), (iq, a.text), _labels(q, x, b, a)))
    return records


def _labels(prop: str, *texts: LabelledText) -> list[str]:
    """The asked property's label of a record's query, positive and negative, as "property=label"."""
    return [f"{prop}={t.labels[prop]}" for t in texts]


def property_pool(task: PropertyTask) -> Pool:
    """The task as a one-source pool, so `read_pool` reads it (labels: source = its text type, and its property)."""
    return Pool(f"property:{task.task.split('_', 1)[0]}", task.property, (LabelSource(task.task, task.type, task.labels),))


def property_records(task: PropertyTask, items: list[LabelledText], vectors: np.ndarray, seed: int, top: int = 3) -> list[Record]:
    """Two records (one contrast group) per anchor x of a property task:

    - a = one of the `top` texts most similar to x without instruction that has *another* label,
    - b = a text with x's label from the middle of the same-label texts by similarity (well below a),

    `[instr(property), x] -> pos b, neg a` and `[instr(similar content), x] -> pos a, neg b`: the property instruction
    must beat plain similarity, the similarity instruction keeps it."""
    prop = task.property
    rng = random.Random(f"{seed}:{task.task}:property-records")
    labels = np.array([t.labels[prop] for t in items])
    choices = sorted({str(v) for v in task.labels.values() if v})
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    records: list[Record] = []
    task_id = f"contrast:{property_pool(task).name}"
    for i, x in enumerate(items):
        same = labels == labels[i]
        same[i] = False
        cand_a, cand_b = np.flatnonzero(labels != labels[i]), np.flatnonzero(same)
        if len(cand_a) == 0 or len(cand_b) < 4:
            continue
        best_a = cand_a[np.argsort(-sims[i, cand_a])[:top]]
        ranked_b = cand_b[np.argsort(-sims[i, cand_b])]
        middle_b = ranked_b[len(ranked_b) // 4: max(len(ranked_b) * 3 // 4, len(ranked_b) // 4 + 1)]
        a, b = items[int(rng.choice(best_a))], items[int(rng.choice(middle_b))]
        rng.shuffle(choices)
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
        ip = rng.choice(PROPERTY_WORDINGS).format(type=task.type, prop=prop, choices=listed)
        iq = rng.choice(SIMILARITY_WORDINGS).format(type=task.type)
        group = f"{task_id}:{i}"
        records.append(_record(task_id, group, (ip, x.text), (ip, b.text), (ip, a.text), _labels(prop, x, b, a)))
        records.append(_record(task_id, group, (iq, x.text), (iq, a.text), (iq, b.text)))
    return records


def entailment_records(queries: list[str], entailed: list[str], contradicting: list[str], seed: int,
                       cap: int, name: str = "snli_contradiction") -> list[Record]:
    """Premise -> entailed vs contradicting sentence, the target decided by the instruction alone."""
    rng = random.Random(f"{seed}:{name}:records")
    order = list(range(len(queries)))
    rng.shuffle(order)
    records: list[Record] = []
    task_id = f"contrast:{name}"
    for i in sorted(order[:cap]):
        premise, yes, no = queries[i], entailed[i], contradicting[i]
        if len({premise.strip(), yes.strip(), no.strip()}) < 3:
            continue
        group = f"{name}:{i}"
        records.append(_record(task_id, group, (rng.choice(ENTAIL_WORDINGS), premise),
                               (HYPOTHESIS_INSTRUCTION, yes), (HYPOTHESIS_INSTRUCTION, no)))
        records.append(_record(task_id, group, (rng.choice(CONTRADICT_WORDINGS), premise),
                               (HYPOTHESIS_INSTRUCTION, no), (HYPOTHESIS_INSTRUCTION, yes)))
    return records


def _record(task_id: str, group: str, query: tuple[str, str], pos: tuple[str, str], neg: tuple[str, str],
            labels: list[str] | None = None) -> Record:
    record: Record = {"query": list(query), "pos": list(pos), "neg": list(neg), "task_id": task_id, "kind": KIND, "group": group}
    if labels is not None:  # lets the trainer leave same-label texts out of a query's in-batch negatives
        record["labels"] = labels
    return record


def write_steering_task(folder: Path, pool: Pool, items: list[LabelledText], notes: str) -> dict[str, str]:
    """A Steering task folder (meta.json + test.jsonl, the shared schema); returns its dev instructions."""
    folder.mkdir(parents=True, exist_ok=True)
    properties = ["source", pool.property]
    sources = sorted({t.labels["source"] for t in items})
    meta: dict[str, Any] = {
        "name": pool.name, "type": "Steering", "eval_splits": ["test"], "main_score": "steer",
        "properties": properties, "mteb_name": None, "same_as_mteb": False,
        "source": "train-side Super-NI tasks held out of every training record: " + ", ".join(s.task for s in pool.sources),
        "notes": notes, "text_type": {"query": " or ".join(sources), "doc": None}, "n": {"test": len(items)},
    }
    rows = [json.dumps({"id": f"{pool.name}-{i:04d}", "text": t.text, "labels": t.labels}, ensure_ascii=False)
            for i, t in enumerate(items)]
    write_text_atomic(folder / "test.jsonl", "\n".join(rows) + "\n")
    write_text_atomic(folder / "meta.json", json.dumps(meta, indent=1) + "\n")
    named = [_article(pool, s) for s in sources]
    listed = ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else named[0]
    return {"source": DEV_WORDINGS["source"].format(sources=listed), pool.property: DEV_WORDINGS[pool.property]}

