"""What readers see for codes, columns, countries and numbers, in English and French."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from babel import Locale
from babel.numbers import format_decimal

from schemas.definition import SCHEMA, Field

LANGUAGES = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
COUNTRY_FIELDS = ("country_of_exploitation", "citizenship")


class MissingTranslation(KeyError):
    """A UI string without a text in one of the site's languages (a bug in strings.yaml)."""


@cache
def _strings() -> dict[str, dict[str, Any]]:
    text = resources.files("publish.site").joinpath("strings.yaml").read_text("utf-8")
    data: dict[str, dict[str, Any]] = yaml.safe_load(text)
    for key, texts in data["ui"].items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise MissingTranslation(f"strings.yaml: {key!r} has no text for {missing}")
    return data


def _own(section: str, key: str, lang: str) -> str | None:
    """The site's own text for a column or code in ``lang`` (English ones are the schema's)."""
    if lang == "en":
        return None
    found = _strings().get(f"{section}_{lang}", {}).get(key)
    return str(found) if found else None


def ui(key: str, lang: str, **values: object) -> str:
    """A UI string; a key missing from the catalogue is a bug, so it raises."""
    try:
        text = str(_strings()["ui"][key][lang])
    except KeyError:
        raise MissingTranslation(f"no UI string {key!r} in {lang!r}") from None
    return text.format(**values) if values else text


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


@cache
def _countries() -> dict[str, Any]:
    return {v.code: v for v in SCHEMA.vocabularies["country"].values}


def is_country(iso3: str) -> bool:
    return iso3 in _countries()


def country_name(iso3: str, lang: str) -> str:
    """The country's name in ``lang`` (CLDR, through babel), else its English name."""
    value = _countries().get(iso3)
    if value is None:
        return iso3
    name = _locale(lang).territories.get(value.label)
    return str(name) if name else str(value.extra.get("name", iso3))


def region_names(iso3: str, lang: str) -> tuple[str | None, str | None]:
    """The UN M49 sub-region and region of a country, named in ``lang``."""
    value = _countries().get(iso3)
    if value is None:
        return None, None
    territories = _locale(lang).territories
    sub, reg = value.extra.get("subregion"), value.extra.get("region")
    return (territories.get(str(sub)) if sub else None,
            territories.get(str(reg)) if reg else None)


def sort_key(text: str) -> str:
    """Alphabetical order that ignores accents (Égypte among the E, not after Z)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _field(column: str) -> Field | None:
    try:
        return SCHEMA.field(column)
    except KeyError:
        return None


def column_title(column: str, lang: str) -> tuple[str, str]:
    """(title, language of the title): French where the catalogue has one, else English."""
    own = _own("columns", column, lang)
    if own:
        return own, lang
    f = _field(column)
    return (f.title if f else column.replace("_", " ")), "en"


def value_label(column: str, value: str, lang: str) -> tuple[str, str]:
    """(label, language of the label) of a cell's code as a reader should see it."""
    if value == "":
        return ui("not_supplied", lang), lang
    f = _field(column)
    if f is None:
        return value, lang
    if f.type == "country":
        return country_name(value, lang), lang
    if f.type == "flag":
        return ui("yes" if value == "1" else "no", lang), lang
    if f.type == "category" and f.vocabulary:
        own = _own("values", f"{f.vocabulary}.{value}", lang)
        if own:
            return own, lang
        labels = SCHEMA.vocabularies[f.vocabulary].label_of()
        label = labels.get(value, value).replace("--", "–")
        # A label without letters (an age band such as 18–20) reads the same in any language.
        return label, "en" if lang != "en" and any(c.isalpha() for c in label) else lang
    return value, lang


def number(value: int | float | str, lang: str) -> str:
    """A published number in the reader's convention (12,345 · 12 345); floats to six
    significant digits, very small ones in scientific notation as Python writes them."""
    if isinstance(value, str):
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if isinstance(value, int):
        return format_decimal(value, locale=lang, group_separator=True)
    text = f"{value:.6g}"
    if "e" in text:
        return text
    return format_decimal(Decimal(text), format="#,##0.######", locale=lang)


@dataclass(frozen=True)
class Title:
    """A resource's title in a language, and where it stands in datapackage.json."""

    text: str
    key: str


def resource_title(index: int, resource: dict[str, Any], lang: str) -> Title:
    """The title in ``lang`` if the release gives one, else the (English) title."""
    own = (resource.get("titles") or {}).get(lang)
    if lang != "en" and own:
        return Title(str(own), f"resources.{index}.titles.{lang}")
    return Title(str(resource["title"]), f"resources.{index}.title")
