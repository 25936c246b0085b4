"""Public domains of synthesized columns, and integer coding of internal-form frames over them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy.counts import domain as public_domain
from privacy.errors import SpecInvalid
from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype

Codes = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Domain:
    """The public domains of a list of columns; value ``None`` (missing) is the last code."""

    columns: tuple[str, ...]
    values: tuple[tuple[object, ...], ...]

    @classmethod
    def of(cls, columns: tuple[str, ...], year_min: int) -> Domain:
        return cls(columns, tuple(public_domain(c, year_min) for c in columns))

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)


def encode(frame: pd.DataFrame, dom: Domain) -> Codes:
    """Internal-form frame -> (rows, columns) codes; rows outside the domain are dropped.

    Only a year outside [year_min, this year] can put a row outside the domain (categories and
    flags are typed by their vocabularies). Dropping rows, like ``privacy.counts`` does, never
    increases one case's contribution to any marginal.
    """
    missing = [c for c in dom.columns if c not in frame.columns]
    if missing:
        raise SpecInvalid(f"the snapshot has no column {missing[0]!r}")
    out = np.empty((len(frame), len(dom.columns)), dtype=np.int64)
    keep = np.ones(len(frame), dtype=bool)
    for j, (name, values) in enumerate(zip(dom.columns, dom.values, strict=True)):
        codes, outside = _codes(frame[name], SCHEMA.field(name).type, values)
        keep &= ~outside
        out[:, j] = codes
    return out[keep]


def _codes(col: pd.Series, kind: str, values: tuple[object, ...]
           ) -> tuple[Codes, npt.NDArray[np.bool_]]:
    """Codes of one column (missing -> last code) and the rows outside the domain."""
    none = len(values) - 1
    isna = col.isna().to_numpy()
    if kind == "flag":
        on = col.astype("boolean").fillna(False).to_numpy(dtype=bool)
        return np.where(isna, none, np.where(on, 0, 1)), np.zeros(len(col), dtype=bool)
    if kind == "year":
        years = col.astype("Int64").fillna(0).to_numpy(dtype=np.int64)
        first = int(values[0]) if none else 0  # type: ignore[call-overload]
        codes = years - first
        outside = ~isna & ((codes < 0) | (codes >= none))
        return np.where(isna | outside, none, codes), outside
    known = list(values[:-1])
    if not (isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == known):
        if not col[~isna].isin(known).all():
            raise SpecInvalid("a column holds values outside its vocabulary; pass the "
                              "internal form (privacy.snapshot.snapshot_frame)")
        col = col.astype(pd.CategoricalDtype(known))
    codes = col.cat.codes.to_numpy().astype(np.int64)
    return np.where(isna, none, codes), np.zeros(len(col), dtype=bool)


def decode(codes: Codes, dom: Domain) -> pd.DataFrame:
    """(rows, columns) codes -> internal-form frame with the schema's dtypes."""
    out: dict[str, pd.Series] = {}
    for j, (name, values) in enumerate(zip(dom.columns, dom.values, strict=True)):
        lookup = np.array(values, dtype=object)
        f = SCHEMA.field(name)
        col = pd.Series(lookup[codes[:, j]], dtype="object")
        out[name] = col.astype(pandas_dtype(f))  # type: ignore[call-overload]
    return pd.DataFrame(out)
