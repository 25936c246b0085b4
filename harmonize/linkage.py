"""What linkage keys are made of: names, dates and years of birth read the same way everywhere."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime

from harmonize.dates import detect_format, parse_date
from harmonize.matching import is_not_supplied
from schemas.definition import SCHEMA

EARLIEST_BIRTH_YEAR = 1900
_WORD_BREAK = re.compile(r"[\W_]+")

# Placeholders case workers write where the name is not known: linking on them would make
# one person of everybody unnamed born on the same day.
_PLACEHOLDERS = (
    "unknown", "not known", "no name", "anonymous", "inconnu", "inconnue", "anonyme",
    "sans nom", "desconocido", "desconocida", "anonimo", "anonima", "sin nombre",
    "desconhecido", "desconhecida", "sem nome", "majhul", "majhula", "x", "xx", "xxx", "nn",
    "n n", "none", "null", "na", "n a", "مجهول", "مجهولة", "غير معروف",
)

#: codes of the agreement fields that say "not known": never a conflict, never a key part
UNKNOWN_CODES: dict[str, frozenset[str]] = {
    name: frozenset(v.code for v in SCHEMA.vocabulary_of(SCHEMA.field(name)).values
                    if v.unknown)
    for name in ("gender", "citizenship")
}


# Letters whose capital folds back to another letter: a name typed in capitals must match.
_CAPITAL_SAFE = str.maketrans({"ı": "i"})


def _fold(text: str) -> str:
    """Case and accents folded; repeated until stable (casefolding can expose new accents)."""
    for _ in range(3):
        folded = "".join(ch for ch in unicodedata.normalize(
            "NFKD", text.casefold().translate(_CAPITAL_SAFE)) if not unicodedata.combining(ch))
        if folded == text:
            break
        text = folded
    return text


def name_words(parts: Iterable[str]) -> tuple[str, ...]:
    """The words of a name split over one or more cells, folded and sorted."""
    return tuple(sorted(w for w in _WORD_BREAK.split(_fold(" ".join(parts))) if w))


_PLACEHOLDER_WORDS = frozenset(name_words([p]) for p in _PLACEHOLDERS)


def normalise_name(parts: Iterable[str]) -> str | None:
    """A name as linkage compares it: case, accents, punctuation and word order do not matter.

    None when no name is given, or only a placeholder ("Inconnu", "N/A", "X").
    """
    # A placeholder in one part ("Inconnu" as the first name) says nothing either.
    texts = [p for p in parts
             if not is_not_supplied(p) and name_words([p]) not in _PLACEHOLDER_WORDS]
    words = name_words(texts)
    if not words or words in _PLACEHOLDER_WORDS:
        return None
    return " ".join(words)


def _today() -> date:
    return datetime.now(UTC).date()


def parse_birth_date(text: str, fmt: str | None) -> date | None:
    """A plausible date of birth from one cell (not before 1900, not in the future), or None."""
    value = text.strip()
    if is_not_supplied(value):
        return None
    parsed = parse_date(value, fmt)
    if parsed is None or parsed.year < EARLIEST_BIRTH_YEAR or parsed > _today():
        return None
    return parsed


def parse_birth_year(text: str) -> int | None:
    """A plausible year of birth from one cell ("1990", "1990.0" from a spreadsheet, or a
    date), or None."""
    value = text.strip()
    if is_not_supplied(value):
        return None
    year: int | None = None
    if re.fullmatch(r"\d{4}(?:\.0+)?", value):
        year = int(value[:4])
    else:
        detected = detect_format([value])
        parsed = parse_date(value, detected.format if detected else None)
        year = parsed.year if parsed is not None else None
    if year is None or not EARLIEST_BIRTH_YEAR <= year <= _today().year:
        return None
    return year


def known(field: str, code: object) -> str | None:
    """The code when it says something (not missing, not the vocabulary's unknown)."""
    if not isinstance(code, str) or not code or code in UNKNOWN_CODES[field]:
        return None
    return code
