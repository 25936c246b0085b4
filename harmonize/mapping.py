"""Partner mappings: declarative YAML, validated by a schema, with line-numbered errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harmonize.errors import MappingInvalid
from schemas.definition import SCHEMA

MULTI_SELECT = tuple(name for name, v in SCHEMA.vocabularies.items() if v.multi_select)
MAPPABLE_FIELDS = tuple(f.name for f in SCHEMA.case_fields)


class FieldRule(BaseModel):
    """How one common-schema field (or multi-select group) is filled from a source column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    values: dict[str, str | bool] = Field(default_factory=dict)
    date_format: str | None = None  # strftime format, "excel", "iso" or None (year or ISO)
    # for age_broad: a number of years, band labels, or a birth date / year (age computed at
    # registration, then the birth data dropped)
    kind: Literal["years", "band", "birth_date", "birth_year"] | None = None
    separator: str | None = None  # for multi-select groups: ";", ",", "|", "json"

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: true` or `yes: ...` keys as ints/bools; partners mean the text.
        if isinstance(value, dict):
            return {("yes" if k is True else "no" if k is False else str(k)): v
                    for k, v in value.items()}
        return value


class BirthDate(BaseModel):
    """The column holding the date of birth, and how it is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    date_format: str | None = None  # strftime format, "excel", "iso" or None (detected)

    @model_validator(mode="before")
    @classmethod
    def _bare_column(cls, value: Any) -> Any:
        return {"column": value} if isinstance(value, str) else value


class Linkage(BaseModel):
    """Identifying columns read only to compute the person's linkage keys, never stored.

    ``name``'s columns are joined (their order does not matter: words are compared in any
    order); the year of birth comes from a readable ``birth_date``, else ``birth_year``. The old
    list form (``linkage: [A, B]``) is kept as ``columns``: one opaque key over those values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: tuple[str, ...] = ()
    birth_date: BirthDate | None = None
    birth_year: str | None = Field(default=None, min_length=1)
    columns: tuple[str, ...] = ()  # the old list form

    @model_validator(mode="before")
    @classmethod
    def _old_list_form(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return {"columns": value}
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return {**value, "name": [value["name"]]}
        return value

    @model_validator(mode="after")
    def _complete(self) -> Linkage:
        if self.columns:
            if self.name or self.birth_date or self.birth_year:
                raise ValueError("either the old list of columns or name/birth_date/birth_year, "
                                 "not both")
            return self
        if not self.name:
            raise ValueError("name: the column(s) holding the person's name are needed")
        if any(not c for c in self.name):
            raise ValueError("name: a column name is empty")
        if self.birth_date is None and self.birth_year is None:
            raise ValueError("needs birth_date or birth_year besides the name")
        return self

    @property
    def read(self) -> tuple[str, ...]:
        """Every column the linkage reads."""
        birth = (self.birth_date.column,) if self.birth_date else ()
        year = (self.birth_year,) if self.birth_year else ()
        return tuple(dict.fromkeys((*self.columns, *self.name, *birth, *year)))


class Mapping(BaseModel):
    """One partner's mapping (one version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mapping_version: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*/[0-9]+$")
    description: str = ""
    case_id: str = Field(min_length=1)
    sheet: str | None = None
    constants: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, FieldRule]
    # Columns (name, date or year of birth) hashed into linkage keys to find the same person
    # in other records; read only for that, never stored.
    linkage: Linkage | None = None

    @model_validator(mode="after")
    def _known_targets(self) -> Mapping:
        for name in self.fields:
            if name not in MAPPABLE_FIELDS and name not in MULTI_SELECT:
                raise ValueError(f"fields.{name}: not a common-schema field or multi-select group")
        for name, code in self.constants.items():
            if name not in MAPPABLE_FIELDS:
                raise ValueError(f"constants.{name}: not a common-schema field")
            f = SCHEMA.field(name)
            if f.vocabulary and code not in SCHEMA.vocabulary_of(f).codes:
                raise ValueError(
                    f"constants.{name}: {code!r} is not a code of {f.vocabulary}")
        for name, rule in self.fields.items():
            vocab = SCHEMA.vocabularies.get(name) or (
                SCHEMA.vocabularies.get(SCHEMA.field(name).vocabulary or "")
                if name in MAPPABLE_FIELDS else None)
            if vocab is None:
                continue
            for source, target in rule.values.items():
                if isinstance(target, str) and target not in vocab.codes:
                    raise ValueError(f"fields.{name}.values.{source}: {target!r} is not a "
                                     f"code of {vocab.name}")
        if self.linkage is not None:
            for name, rule in self.fields.items():
                if rule.column in self.linkage.name:
                    raise ValueError(f"fields.{name}: {rule.column!r} is a name column of "
                                     "linkage, read only for the linkage key")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column this mapping reads (the PII firewall's allow-list)."""
        return (self.case_id, *dict.fromkeys(
            [*(r.column for r in self.fields.values()),
             *(self.linkage.read if self.linkage else ())]))


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    out = {}
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    out["__lines__"] = lines
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip_lines(v) for k, v in data.items() if k != "__lines__"}
    if isinstance(data, list):
        return [_strip_lines(v) for v in data]
    return data


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    line = None
    node = data
    for part in loc:
        if not isinstance(node, dict):
            break
        line = node.get("__lines__", {}).get(part, line)
        node = node.get(part)
    return line


def parse_mapping(text: str, source: str = "mapping") -> Mapping:
    """Validate mapping YAML; errors name the file and line and say what is wrong."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MappingInvalid(f"{source}{where}: not valid YAML") from err
    if not isinstance(data, dict):
        raise MappingInvalid(f"{source}: expected a YAML mapping at the top")
    try:
        return Mapping.model_validate(_strip_lines(data))
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        if not loc and ": " in msg:
            # Cross-field checks name their own dotted path at the start of the message.
            dotted, msg = msg.split(": ", 1)
            loc = tuple(dotted.split("."))
        line = _line_of(data, loc)
        where = f" line {line}" if line else ""
        path = ".".join(str(p) for p in loc) or "(top)"
        raise MappingInvalid(f"{source}{where}: {path}: {msg}") from err


def load_mapping(path: Path) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MappingInvalid(f"{path.name}: cannot be read") from err
    return parse_mapping(text, path.name)
