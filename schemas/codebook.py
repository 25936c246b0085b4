"""The codebook's data: every variable with its meaning and values, derived from the schema."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.definition import SCHEMA, Schema

TYPE_WORDS = {
    "year": "Year (integer)",
    "category": "Category",
    "country": "Country (ISO 3166-1 alpha-2)",
    "flag": "Flag: 1 yes, 0 no, empty not recorded",
    "concatenation": "Text: labels joined",
}


@dataclass(frozen=True)
class CodebookValue:
    label: str
    description: str
    unknown: bool


@dataclass(frozen=True)
class CodebookVariable:
    name: str  # CTDC column name
    internal_name: str
    title: str
    description: str
    type: str
    values: tuple[CodebookValue, ...]
    quasi_identifier: bool


def codebook(schema: Schema = SCHEMA) -> tuple[CodebookVariable, ...]:
    """One entry per published (CTDC-compatible) variable, in column order."""
    out = []
    for f in schema.ctdc_fields:
        assert f.ctdc is not None
        values: tuple[CodebookValue, ...] = ()
        if f.type in ("category", "country"):
            values = tuple(CodebookValue(v.label, v.description or str(v.extra.get("name", "")),
                                         v.unknown)
                           for v in schema.vocabulary_of(f).values)
        elif f.type == "flag":
            values = (CodebookValue("1", "Yes", False), CodebookValue("0", "No", False))
        out.append(CodebookVariable(
            name=f.ctdc, internal_name=f.name, title=f.title, description=f.description,
            type=TYPE_WORDS[f.type], values=values, quasi_identifier=f.quasi_identifier,
        ))
    return tuple(out)
