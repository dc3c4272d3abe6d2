"""Derive first-draft instructions: Super-NI tasks from Definition/Categories/Domains, pair datasets from meta.json.

These drafts seed the reviewed file `data/medi/instructions.json`; the build reads that file and only falls
back to a draft for a task the file does not list.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from instructembed.medi.instruction import Instruction, clean_phrase, pluralize
from instructembed.medi.sources import SniTask, SourceError, load_pair_dataset, load_sni_task

# What an embedding of a task input is for, by Super-NI category (used when the Definition is not a short gerund phrase).
CATEGORY_OBJECTIVES = {
    "Answer Verification": "verifying whether the answer is correct",
    "Answerability Classification": "deciding whether the question can be answered from the text",
    "Cause Effect Classification": "classifying cause and effect",
    "Coherence Classification": "judging whether the text is coherent",
    "Commonsense Classification": "classifying commonsense relations between events",
    "Contextual Question Generation": "generating a question about it",
    "Coreference Resolution": "resolving what a pronoun or blank refers to",
    "Data to Text": "generating a sentence that describes the data",
    "Dialogue Act Recognition": "recognizing the dialogue act",
    "Dialogue Generation": "generating the next dialogue turn",
    "Dialogue State Tracking": "tracking the dialogue state",
    "Discourse Connective Identification": "identifying the discourse connective",
    "Discourse Relation Classification": "classifying the discourse relation",
    "Entity Generation": "generating related entities",
    "Entity Relation Classification": "classifying the relation between entities",
    "Ethics Classification": "judging whether the actions described are ethical",
    "Explanation": "generating an explanation",
    "Fact Verification": "verifying whether the claim is true",
    "Fill in The Blank": "filling in the blank",
    "Gender Classification": "identifying gender",
    "Grammar Error Correction": "correcting grammatical errors",
    "Grammar Error Detection": "detecting grammatical errors",
    "Information Extraction": "extracting information",
    "Irony Detection": "detecting irony",
    "Keyword Tagging": "finding its keywords",
    "Linguistic Probing": "classifying its grammatical properties",
    "Misc.": "answering the task",
    "Named Entity Recognition": "recognizing named entities",
    "Negotiation Strategy Detection": "detecting the negotiation strategy",
    "Overlap Extraction": "finding overlapping words",
    "Paraphrasing": "paraphrasing",
    "Poem Generation": "writing a poem",
    "Pos Tagging": "tagging parts of speech",
    "Preposition Prediction": "predicting the missing preposition",
    "Question Answering": "answering the question",
    "Question Decomposition": "decomposing the question",
    "Question Generation": "generating a question",
    "Question Rewriting": "rewriting the question",
    "Question Understanding": "classifying the question",
    "Section Classification": "classifying which section of a paper it comes from",
    "Sentence Composition": "composing a new sentence",
    "Sentence Compression": "compressing the sentence",
    "Sentence Expansion": "expanding the sentence",
    "Sentence Ordering": "ordering the sentences",
    "Sentence Perturbation": "changing the sentence",
    "Sentiment Analysis": "classifying the sentiment",
    "Spam Classification": "detecting spam",
    "Speaker Identification": "identifying the speaker",
    "Stance Detection": "detecting the stance",
    "Stereotype Detection": "detecting stereotypes",
    "Story Composition": "writing a story",
    "Style Transfer": "transferring the style",
    "Summarization": "summarization",
    "Text Categorization": "categorizing the text",
    "Text Completion": "completing the text",
    "Text Matching": "judging whether the texts match",
    "Text Quality Evaluation": "evaluating the quality of the text",
    "Text Simplification": "simplifying the text",
    "Textual Entailment": "recognizing textual entailment",
    "Title Generation": "generating a title",
    "Translation": "translation",
    "Word Analogy": "solving the word analogy",
    "Word Relation Classification": "classifying the relation between the words",
    "Word Semantics": "finding the word that does not belong",
}

# Input field names ("Sentence: ...") that make a good text type.
_FIELD_TYPES = {
    "sentence", "question", "answer", "context", "passage", "paragraph", "fact", "topic", "review", "reviews",
    "summary", "title", "prompt", "response", "utterance", "story", "event", "hypothesis", "premise", "word",
    "category", "clue", "beginning", "concept", "relationship", "text", "tweet", "article", "background paragraph",
    "correct answer", "context word", "update", "target", "options", "profession", "section", "words",
}

# A Domains entry -> (domain adjective, text type used when the input has no named fields).
_DOMAINS = {
    "Wikipedia": ("Wikipedia", None),
    "News": ("news", None),
    "Social Media -> Twitter": (None, "tweet"),
    "Social Media -> Reddit": ("Reddit", "post"),
    "Social Media -> Text Message": (None, "text message"),
    "Reviews": (None, "review"),
    "Reviews -> Movies": (None, "movie review"),
    "Reviews -> Food": (None, "food review"),
    "Dialogue": (None, "dialogue"),
    "Scientific Research Papers": ("scientific", None),
    "Natural Science": ("science", None),
    "Natural Science -> School Science Textbooks": ("science", None),
    "Healthcare": ("health", None),
    "Government and Politics": ("political", None),
    "Biology -> Bioinformatics": ("biomedical", None),
    "Chemistry": ("chemistry", None),
    "Movies": ("movie", None),
    "Story": (None, "story"),
    "Literature": (None, "poem"),
}

_FIELD = re.compile(r"(?m)^\s*([A-Za-z][A-Za-z ]{0,24}?)\s*:")


def input_fields(inputs: list[str], sample: int = 50) -> list[str]:
    """The named fields most task inputs start their lines with, e.g. ["sentence", "question"]."""
    counts = Counter(tuple(dict.fromkeys(f.strip().lower() for f in _FIELD.findall(text)))[:3] for text in inputs[:sample])
    if not counts:
        return []
    fields, n = counts.most_common(1)[0]
    if n * 2 < min(len(inputs), sample):
        return []
    return [f for f in fields if f in _FIELD_TYPES]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _objective_from_definition(definition: str) -> str | None:
    """A short Definition that is itself a gerund phrase ("Checking whether ...") is a task-specific objective."""
    text = definition.strip().rstrip(".").strip()
    words = text.split()
    if not words or len(words) > 16 or not words[0].lower().endswith("ing") or "\n" in text:
        return None
    text = re.sub(r"\bthe given\b", "the", text[0].lower() + text[1:])
    return re.sub(r"\bgiven\s+", "", text)


def derive_sni_instruction(task: SniTask) -> dict:
    """A draft {query, doc, parts, symmetric} for a Super-NI task; both sides embed task inputs, so symmetric."""
    fields = input_fields(task.inputs)
    domain, type_from_domain = (None, None)
    if len(task.domains) == 1:
        domain, type_from_domain = _DOMAINS.get(task.domains[0], (None, None))
    if fields:
        text_type = _join([f.rstrip("s") if f in ("reviews", "options", "words") else f for f in fields])
    else:
        text_type = type_from_domain or "text"
    category = task.categories[0] if task.categories else ""
    objective = _objective_from_definition(task.definition) or CATEGORY_OBJECTIVES.get(category) or "the task"
    instruction = Instruction(text_type, domain=domain, objective=objective)
    rendered = instruction.render()
    return {
        "query": rendered,
        "doc": rendered,
        "symmetric": True,
        "parts": {"text_type": text_type, "domain": domain, "objective": objective},
        "reviewed": False,
    }


def derive_pair_instruction(meta: dict) -> dict:
    """A draft from a pair dataset's meta.json: text types and domain, retrieval objective; symmetric sets share one."""
    domain = meta.get("domain")
    domain = clean_phrase(domain) if isinstance(domain, str) else None
    query_type = clean_phrase(str(meta.get("query_type") or "text"))
    doc_type = clean_phrase(str(meta.get("doc_type") or "text"))
    symmetric = bool(meta.get("symmetric"))
    if symmetric:
        rendered = Instruction(query_type, domain, f"retrieving semantically similar {pluralize(query_type)}").render()
        return {"query": rendered, "doc": rendered, "symmetric": True, "reviewed": False}
    query = Instruction(query_type, domain, f"retrieving the matching {doc_type}").render()
    doc = Instruction(doc_type, domain, "retrieval").render()
    return {"query": query, "doc": doc, "symmetric": False, "reviewed": False}


def derive_instruction_table(sni_dir: Path | None, pairs_dir: Path | None, max_chars: int = 6000) -> dict[str, dict]:
    """Draft instructions for every readable task under the two folders, keyed by task id."""
    table: dict[str, dict] = {}
    if pairs_dir is not None:
        for folder in sorted(p for p in Path(pairs_dir).iterdir() if p.is_dir()):
            try:
                table[folder.name] = derive_pair_instruction(load_pair_dataset(folder, max_chars).meta)
            except SourceError:
                continue
    if sni_dir is not None:
        for path in sorted(Path(sni_dir).glob("*.json")):
            if path.name.startswith("_") or path.name == "meta.json":
                continue
            try:
                task = load_sni_task(path, max_chars)
            except SourceError:
                continue
            table[task.name] = derive_sni_instruction(task)
    return table
