"""Load the common schema (fields.yaml) and its vocabularies into frozen, validated objects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from schemas.errors import SchemaDefinitionError

HERE = Path(__file__).parent
VOCABULARY_DIR = HERE / "vocabularies"

FieldType = Literal[
    "year", "category", "country", "flag", "concatenation", "key", "text", "integer",
    "smallint", "timestamp"
]
STORED_CTDC_TYPES = ("year", "category", "country", "flag")
INTERNAL_TYPES = ("key", "text", "integer", "smallint", "timestamp")


def snake_case(name: str) -> str:
    """``meansOfControlDebtBondage`` -> ``means_of_control_debt_bondage``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def normalise_token(text: str) -> str:
    """Fold case, accents, punctuation and spacing so 'Travail forcé ' == 'travail force'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = re.sub(r"[\s_\-–—/’'.,;:()]+", " ", stripped.casefold())
    return folded.strip()


@dataclass(frozen=True)
class Value:
    """One value of a controlled vocabulary."""

    code: str
    label: str
    description: str = ""
    unknown: bool = False
    flag: str | None = None
    derived: bool = False
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    """A controlled vocabulary: the public domain of a categorical field."""

    name: str
    title: str
    description: str
    values: tuple[Value, ...]
    multi_select: bool = False
    groups: tuple[Mapping[str, str], ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.values)

    def value(self, code: str) -> Value:
        for v in self.values:
            if v.code == code:
                return v
        raise KeyError(code)

    def label_of(self) -> dict[str, str]:
        return {v.code: v.label for v in self.values}

    def code_of_label(self) -> dict[str, str]:
        return {v.label: v.code for v in self.values}


@dataclass(frozen=True)
class Field:
    """One column of the common schema."""

    name: str
    type: FieldType
    title: str
    description: str
    ctdc: str | None = None
    vocabulary: str | None = None
    group: str | None = None  # for flags: the multi-select vocabulary they expand
    code: str | None = None  # for flags: the vocabulary value they stand for
    of: str | None = None  # for concatenations: the flag group they join
    separator: str = ";"
    quasi_identifier: bool = False
    derived: bool = False
    min: int | None = None
    optional: bool = False  # internal fields only: may be empty

    @property
    def stored(self) -> bool:
        """Stored in the cases table (concatenations are derived on export)."""
        return self.type != "concatenation"

    @property
    def internal(self) -> bool:
        return self.type in INTERNAL_TYPES


@dataclass(frozen=True)
class Schema:
    """The common schema: CTDC variables in CTDC order, then the internal fields."""

    version: str
    fields: tuple[Field, ...]
    vocabularies: Mapping[str, Vocabulary]
    legacy_missing_tokens: tuple[str, ...]

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def ctdc_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.ctdc is not None)

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.stored)

    @property
    def case_fields(self) -> tuple[Field, ...]:
        """The CTDC variables that are stored (what a mapping can fill)."""
        return tuple(f for f in self.fields if f.stored and not f.internal)

    def flags_of(self, group: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.group == group)

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.quasi_identifier)

    def vocabulary_of(self, f: Field) -> Vocabulary:
        if f.vocabulary is None:
            raise KeyError(f"{f.name} has no vocabulary")
        return self.vocabularies[f.vocabulary]


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SchemaDefinitionError(f"{path.name}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise SchemaDefinitionError(f"{path.name}: expected a mapping at the top")
    return data


def _vocabulary(data: dict[str, Any], source: str) -> Vocabulary:
    values = []
    for raw in data.get("values", []):
        known = {"code", "label", "description", "unknown", "flag", "derived", "synonyms"}
        synonyms = {lang: tuple(str(s) for s in words)
                    for lang, words in (raw.get("synonyms") or {}).items()}
        values.append(Value(
            code=str(raw["code"]), label=str(raw["label"]),
            description=str(raw.get("description", "")), unknown=bool(raw.get("unknown", False)),
            flag=raw.get("flag"), derived=bool(raw.get("derived", False)), synonyms=synonyms,
            extra={k: (str(v) if v is not None and k in ("m49", "subregion", "region") else v)
                   for k, v in raw.items() if k not in known},
        ))
    codes = [v.code for v in values]
    if len(set(codes)) != len(codes):
        raise SchemaDefinitionError(f"{source}: duplicate codes")
    labels = [v.label for v in values]
    if len(set(labels)) != len(labels):
        raise SchemaDefinitionError(f"{source}: duplicate labels")
    groups = tuple({k: str(v) for k, v in g.items()} for g in data.get("groups", []))
    return Vocabulary(
        name=str(data["name"]), title=str(data.get("title", data["name"])),
        description=str(data.get("description", "")), values=tuple(values),
        multi_select=bool(data.get("multi_select", False)), groups=groups,
    )


def load_vocabularies(directory: Path = VOCABULARY_DIR) -> dict[str, Vocabulary]:
    vocabularies: dict[str, Vocabulary] = {}
    for path in sorted(directory.glob("*.yaml")):
        vocab = _vocabulary(_load_yaml(path), path.name)
        vocabularies[vocab.name] = vocab
    return vocabularies


def _expand_flags(entry: dict[str, Any], vocab: Vocabulary) -> list[Field]:
    if not vocab.multi_select:
        raise SchemaDefinitionError(f"flags: {vocab.name} is not a multi-select vocabulary")
    out = []
    for v in vocab.values:
        if not v.flag:
            raise SchemaDefinitionError(f"{vocab.name}.{v.code} has no CTDC flag column")
        fmt = {"label": v.label, "label_lower": v.label.lower()}
        out.append(Field(
            name=snake_case(v.flag), type="flag", ctdc=v.flag, group=vocab.name, code=v.code,
            title=str(entry["title"]).format(**fmt),
            description=(v.description or str(entry["description"]).format(**fmt)),
            derived=v.derived,
        ))
    return out


def _field(entry: dict[str, Any]) -> Field:
    ctdc = entry.get("ctdc")
    name = entry.get("name") or (snake_case(ctdc) if ctdc else None)
    if not name:
        raise SchemaDefinitionError(f"field without a name: {entry}")
    known = set(Field.__dataclass_fields__) | {"ctdc", "name"}
    unknown_keys = set(entry) - known
    if unknown_keys:
        raise SchemaDefinitionError(f"field {name}: unknown keys {sorted(unknown_keys)}")
    return Field(**{**entry, "name": name, "ctdc": ctdc})


@cache
def load_schema(path: Path = HERE / "fields.yaml") -> Schema:
    """Read and validate the common schema; cached, so every caller shares one object."""
    data = _load_yaml(path)
    vocabularies = load_vocabularies()
    fields: list[Field] = []
    for entry in data["fields"]:
        if "flags" in entry:
            fields.extend(_expand_flags(entry, vocabularies[entry["flags"]]))
        else:
            fields.append(_field(entry))
    fields.extend(_field(entry) for entry in data.get("internal", []))

    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SchemaDefinitionError("fields.yaml: duplicate field names")
    for f in fields:
        if f.type in ("category", "country") and f.vocabulary not in vocabularies:
            raise SchemaDefinitionError(f"{f.name}: unknown vocabulary {f.vocabulary!r}")
        if f.type == "concatenation" and not any(g.group == f.of for g in fields):
            raise SchemaDefinitionError(f"{f.name}: no flag group {f.of!r}")
    return Schema(
        version=str(data["version"]), fields=tuple(fields), vocabularies=vocabularies,
        legacy_missing_tokens=tuple(data.get("legacy_missing_tokens", [])),
    )


SCHEMA = load_schema()
