"""The unified instruction template: "Represent the (DOMAIN) TEXT_TYPE for TASK_OBJECTIVE: ".

Rendering keeps the sentence grammatical: a domain already named inside the text type is not repeated
("Represent the Wikipedia English Wikipedia sentence" becomes "Represent the English Wikipedia sentence",
"scientific papers" + "paper title" becomes "scientific paper title"),
parenthetical notes are dropped from text types, and `plural=True` inflects the last word correctly
("hypothesis" -> "hypotheses", "query" -> "queries").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IRREGULAR = {"child": "children", "person": "people", "man": "men", "woman": "women", "datum": "data",
              "criterion": "criteria", "phenomenon": "phenomena", "index": "indices", "news": "news",
              "code": "code", "information": "information", "data": "data", "evidence": "evidence",
              "text": "texts", "dialogue": "dialogues"}


def pluralize(noun_phrase: str) -> str:
    """Plural of a noun phrase's last word: sis->ses, consonant+y->ies, s/x/z/ch/sh->es, else +s."""
    words = noun_phrase.split(" ")
    last = words[-1]
    lower = last.lower()
    if lower in _IRREGULAR:
        plural = _IRREGULAR[lower]
        plural = plural[0].upper() + plural[1:] if last[:1].isupper() else plural
    elif lower.endswith("sis"):
        plural = last[:-2] + "es"
    elif len(lower) > 1 and lower.endswith("y") and lower[-2] not in "aeiou":
        plural = last[:-1] + "ies"
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        plural = last + "es"
    else:
        plural = last + "s"
    return " ".join(words[:-1] + [plural])


def clean_phrase(phrase: str) -> str:
    """Drop parenthetical notes and extra spaces: "image caption (same image)" -> "image caption"."""
    phrase = re.sub(r"\s*\([^)]*\)", "", phrase)
    return re.sub(r"\s+", " ", phrase).strip().rstrip(":.")


_IE_NOUNS = {"movie", "cookie", "rookie", "zombie", "calorie", "prairie", "selfie", "genie", "pie", "tie", "lie", "hippie"}
_UNCOUNTED = {"news", "series", "species", "physics", "mathematics", "politics", "economics", "ethics", "linguistics"}


def singularize(word: str) -> str:
    """Singular of a plural noun used as a modifier: "captions" -> "caption", "stories" -> "story"."""
    lower = word.lower()
    if lower in _UNCOUNTED or len(lower) < 4 or not lower.endswith("s") or lower.endswith(("ss", "us", "is")):
        return word
    if lower.endswith("ies"):
        return word[:-1] if lower[:-1] in _IE_NOUNS else word[:-3] + "y"
    if lower.endswith(("ches", "shes", "xes", "ses")):
        return word[:-2]
    return word[:-1]


def _domain_modifier(domain: str, text_type: str) -> str:
    """The domain as a modifier of the text type: singular, without words the text type already has."""
    type_words = {w.lower() for w in text_type.split()}
    words = [singularize(w) for w in domain.split()]
    while words and words[-1].lower() in type_words:
        words.pop()
    return "" if all(w.lower() in type_words for w in words) else " ".join(words)


@dataclass(frozen=True)
class Instruction:
    """One instruction built from the template.

    Example:
        >>> Instruction("question", domain="Wikipedia", objective="retrieving supporting documents").render()
        'Represent the Wikipedia question for retrieving supporting documents: '
    """

    text_type: str
    domain: str | None = None
    objective: str | None = None
    plural: bool = False

    def render(self) -> str:
        text_type = clean_phrase(self.text_type)
        if not text_type:
            raise ValueError("an instruction needs a text type")
        if self.plural:
            text_type = pluralize(text_type)
        domain = _domain_modifier(clean_phrase(self.domain), text_type) if self.domain else ""
        words = ["Represent the", domain, text_type] if domain else ["Represent the", text_type]
        sentence = " ".join(words)
        objective = clean_phrase(self.objective) if self.objective else ""
        if objective:
            sentence += f" for {objective}"
        return sentence + ": "

    def __str__(self) -> str:
        return self.render()
