"""Match partner wording to vocabulary codes: labels, codes and multilingual synonyms."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pycountry
import yaml
from babel import Locale

from schemas.definition import HERE as SCHEMA_DIR
from schemas.definition import SCHEMA, Vocabulary, normalise_token

# Written by partners for "we were not told" rather than "we asked and nobody knew".
NOT_SUPPLIED = frozenset(normalise_token(t) for t in (
    "", "-99", "-", "--", "null", "none", "nan", "n/a", "na", "n.a.", "missing", "not recorded",
    "non renseigne", "non renseignee", "sans objet", "s/o", "nr", "no data", "sin dato",
    "sin datos", "sin informacion", "no consta", "sem dados", "sem dado", "sem informacao",
    "nao consta",
))
# Languages whose CLDR country names partners use.
COUNTRY_LANGUAGES = ("en", "fr", "es", "pt", "ar")


def is_not_supplied(text: str) -> bool:
    return normalise_token(text) in NOT_SUPPLIED


@cache
def vocabulary_index(name: str) -> dict[str, str]:
    """Normalised label / code / synonym -> code for one vocabulary."""
    vocab: Vocabulary = SCHEMA.vocabularies[name]
    index: dict[str, str] = {}
    for v in vocab.values:
        for word in (v.code, v.label, *(w for ws in v.synonyms.values() for w in ws)):
            index.setdefault(normalise_token(str(word)), v.code)
    if name == "country":
        for key, code in _country_names().items():
            index.setdefault(key, code)
    return index


@cache
def _country_names() -> dict[str, str]:
    """ISO codes, M49 numbers, pycountry and CLDR names in five languages, curated synonyms."""
    known = {v.code: v for v in SCHEMA.vocabularies["country"].values if not v.unknown}
    names: dict[str, str] = {}
    for code, v in known.items():
        names[normalise_token(str(v.label))] = code  # alpha-2
        names[normalise_token(code)] = code
        m49 = str(v.extra.get("m49", ""))
        if m49:
            names[m49] = code
            names[m49.lstrip("0")] = code
        country = pycountry.countries.get(alpha_3=code)
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None) if country else None
            if value:
                names.setdefault(normalise_token(value), code)
    for lang in COUNTRY_LANGUAGES:
        territories = Locale.parse(lang).territories
        for code, v in known.items():
            cldr = territories.get(str(v.label))
            if cldr:
                names.setdefault(normalise_token(cldr), code)
    synonyms = yaml.safe_load((SCHEMA_DIR / "synonyms" / "countries.yaml").read_text("utf-8"))
    for code, words in synonyms.items():
        for word in words:
            names[normalise_token(word)] = code  # curated wins over generated
    return names


def match(vocabulary: str, text: str, overrides: dict[str, str] | None = None) -> str | None:
    """The vocabulary code for ``text``, or None when nothing matches."""
    key = normalise_token(text)
    if overrides:
        for source, code in overrides.items():
            if normalise_token(source) == key:
                return code
    return vocabulary_index(vocabulary).get(key)


def synonym_files() -> list[Path]:
    return [SCHEMA_DIR / "synonyms" / "countries.yaml"]
