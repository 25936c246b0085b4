"""Convert between the internal form of cases and the CTDC-compatible form researchers use."""

from __future__ import annotations

import pandas as pd

from schemas.definition import SCHEMA, Field, Schema
from schemas.dtypes import ctdc_pandas_dtype, pandas_dtype


def _concatenate(frame: pd.DataFrame, f: Field, schema: Schema) -> pd.Series:
    """Join the labels of a flag group's set flags, alphabetically (CTDC's *Concatenated rule)."""
    flags = [g for g in schema.flags_of(f.of or "") if g.name in frame.columns]
    labels = {g.name: schema.vocabularies[g.group or ""].value(g.code or "").label for g in flags}
    joined = pd.Series("", index=frame.index, dtype=object)
    # One vectorised pass per flag, in label order: no per-row Python.
    for name in sorted(labels, key=lambda n: labels[n]):
        on = frame[name].fillna(False).astype(bool).to_numpy()
        prefix = joined.where(joined == "", joined + f.separator)
        joined = joined.where(~on, prefix + labels[name])
    return joined.where(joined != "", pd.NA).astype("string")


def to_ctdc(frame: pd.DataFrame, schema: Schema = SCHEMA) -> pd.DataFrame:
    """Internal-form cases -> CTDC-compatible columns, labels, alpha-2 countries and 1/0 flags.

    Columns of the schema missing from ``frame`` (e.g. generalised away) come out empty.
    """
    out: dict[str, pd.Series] = {}
    for f in schema.ctdc_fields:
        assert f.ctdc is not None
        if f.type == "concatenation":
            out[f.ctdc] = _concatenate(frame, f, schema)
            continue
        if f.name not in frame.columns:
            out[f.ctdc] = pd.Series(pd.NA, index=frame.index, dtype=ctdc_pandas_dtype(f))
            continue
        col = frame[f.name]
        if f.type in ("category", "country"):
            labels = schema.vocabulary_of(f).label_of()
            out[f.ctdc] = col.astype("object").map(labels).astype("string")
        elif f.type == "flag":
            out[f.ctdc] = col.astype("boolean").astype("Int8")
        else:
            out[f.ctdc] = col.astype(ctdc_pandas_dtype(f))
    return pd.DataFrame(out, index=frame.index)


def from_ctdc(frame: pd.DataFrame, schema: Schema = SCHEMA) -> pd.DataFrame:
    """CTDC-compatible columns (any of the three missing conventions) -> internal form.

    Used to load CTDC's own published files as realistic test and benchmark material.
    Values outside the vocabularies become missing.
    """
    missing = {t.casefold() for t in schema.legacy_missing_tokens} | {""}
    out: dict[str, pd.Series] = {}
    for f in schema.case_fields:
        if f.ctdc is None or f.ctdc not in frame.columns:
            continue
        raw = frame[f.ctdc].astype("string").str.strip()
        raw = raw.mask(raw.str.casefold().isin(missing))
        if f.type in ("category", "country"):
            codes = {label.casefold(): code
                     for label, code in schema.vocabulary_of(f).code_of_label().items()}
            mapped = raw.str.casefold().map(codes)
            out[f.name] = mapped.astype(pandas_dtype(f, schema))  # type: ignore[call-overload]
        elif f.type == "flag":
            out[f.name] = pd.to_numeric(raw, errors="coerce").map(
                {1: True, 0: False}).astype("boolean")
        else:
            out[f.name] = pd.to_numeric(raw, errors="coerce").astype("Int16")
    return pd.DataFrame(out, index=frame.index)
