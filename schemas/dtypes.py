"""pandas and Arrow types of the common schema, in its internal and CTDC-compatible forms."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from schemas.definition import SCHEMA, Field, Schema


def pandas_dtype(f: Field, schema: Schema = SCHEMA) -> object:
    """The pandas dtype of a stored field in the internal (normalised) form."""
    if f.type in ("category", "country"):
        # The vocabulary is the category domain: a value outside it cannot be represented.
        return pd.CategoricalDtype(list(schema.vocabulary_of(f).codes))
    simple = {
        "year": "Int16",
        "flag": "boolean",
        "key": "string",
        "text": "string",
        "integer": "Int64",
        "smallint": "Int16",
        "timestamp": "datetime64[ns, UTC]",
    }
    return simple[f.type]


def pandas_dtypes(schema: Schema = SCHEMA) -> dict[str, object]:
    return {f.name: pandas_dtype(f, schema) for f in schema.stored_fields}


def arrow_type(f: Field) -> pa.DataType:
    types = {
        "year": pa.int16(),
        "category": pa.dictionary(pa.int16(), pa.string()),
        "country": pa.dictionary(pa.int16(), pa.string()),
        "flag": pa.bool_(),
        "key": pa.string(),
        "text": pa.string(),
        "integer": pa.int64(),
        "smallint": pa.int16(),
        "timestamp": pa.timestamp("ns", tz="UTC"),
    }
    return types[f.type]


def arrow_schema(schema: Schema = SCHEMA) -> pa.Schema:
    """Arrow schema of the internal form (stored fields)."""
    return pa.schema([pa.field(f.name, arrow_type(f), nullable=True) for f in schema.stored_fields])


def ctdc_pandas_dtype(f: Field) -> str:
    """The pandas dtype of a column in the CTDC-compatible (published) form."""
    return {"year": "Int16", "flag": "Int8"}.get(f.type, "string")


def ctdc_arrow_schema(schema: Schema = SCHEMA) -> pa.Schema:
    types = {"year": pa.int16(), "flag": pa.int8()}
    return pa.schema([pa.field(f.ctdc, types.get(f.type, pa.string()), nullable=True)
                      for f in schema.ctdc_fields if f.ctdc])
