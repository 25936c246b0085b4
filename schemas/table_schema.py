"""Frictionless Table Schemas (v2) derived from the common schema."""

from __future__ import annotations

from typing import Any

from schemas.definition import SCHEMA, Field, Schema


def _ctdc_field(f: Field, schema: Schema) -> dict[str, Any]:
    assert f.ctdc is not None
    out: dict[str, Any] = {"name": f.ctdc, "title": f.title, "description": f.description}
    if f.type == "year":
        out.update(type="integer", constraints={"minimum": f.min or 1900, "maximum": 2100})
    elif f.type in ("category", "country"):
        out.update(type="string", categories=[v.label for v in schema.vocabulary_of(f).values])
    elif f.type == "flag":
        out.update(type="integer", categories=[0, 1])
    else:
        out.update(type="string")
    return out


def ctdc_table_schema(
    schema: Schema = SCHEMA, columns: list[str] | None = None
) -> dict[str, Any]:
    """Table Schema of the CTDC-compatible form; ``columns`` restricts and orders the fields."""
    by_name = {f.ctdc: f for f in schema.ctdc_fields}
    wanted = columns if columns is not None else [f.ctdc for f in schema.ctdc_fields]
    return {
        "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
        "fields": [_ctdc_field(by_name[c], schema) for c in wanted if c is not None],
        "missingValues": [""],
    }


def internal_table_schema(schema: Schema = SCHEMA) -> dict[str, Any]:
    """Table Schema of the internal (stored) form: codes, ISO alpha-3 and booleans."""
    types = {"year": "integer", "flag": "boolean", "integer": "integer",
             "smallint": "integer", "timestamp": "datetime", "key": "string", "text": "string"}
    fields = []
    for f in schema.stored_fields:
        entry: dict[str, Any] = {"name": f.name, "title": f.title}
        if f.type in ("category", "country"):
            entry.update(type="string", categories=list(schema.vocabulary_of(f).codes))
        else:
            entry["type"] = types[f.type]
        fields.append(entry)
    return {"$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
            "fields": fields, "missingValues": [""]}


def aggregate_table_schema(dimensions: tuple[str, ...], schema: Schema = SCHEMA) -> dict[str, Any]:
    """Table Schema of a published aggregate table: its dimensions, then the noisy count."""
    fields: list[dict[str, Any]] = []
    for name in dimensions:
        f = schema.field(name)
        entry: dict[str, Any] = {"name": f.name, "title": f.title, "description": f.description}
        if f.type == "year":
            entry["type"] = "integer"
        elif f.type == "flag":
            entry.update(type="integer", categories=[0, 1])
        else:
            entry.update(type="string", categories=list(schema.vocabulary_of(f).codes))
        fields.append(entry)
    fields += [
        {"name": "count", "type": "integer", "title": "Noisy count",
         "description": "Differentially private count (non-negative); empty when flag is c.",
         "constraints": {"minimum": 0}},
        {"name": "lower_95", "type": "integer", "title": "Lower bound of the 95% interval"},
        {"name": "upper_95", "type": "integer", "title": "Upper bound of the 95% interval"},
        {"name": "flag", "type": "string", "title": "Flag",
         "description": "c: below the release threshold, value withheld; u: low reliability.",
         "categories": ["c", "u"]},
    ]
    return {"$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
            "fields": fields, "missingValues": [""]}
