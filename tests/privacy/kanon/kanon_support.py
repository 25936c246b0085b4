"""Test support for k-anonymity: internal-form frames, random frames, an independent brute force."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from privacy.kanon.hierarchies import Hierarchy
from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype

CASE_FIELDS = [f.name for f in SCHEMA.case_fields]
SMALL_QIS = ("year_of_registration", "gender", "age_broad", "country_of_exploitation")

GENDERS = ["female", "male", "unknown", None]
AGES = ["0-8", "9-17", "18-20", "24-26", "30-38", "48+", "unknown", None]
# Three North African countries share a sub-region; NER and GBR do not.
COUNTRIES = ["LBY", "TUN", "DZA", "NER", "GBR", "unknown", None]
YEARS = [2014, 2015, 2016, 2017, 2019, None]
FLAGS = [True, False, None]


def internal_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Cases in the internal form (every case field, schema dtypes), as snapshots hold them."""
    frame = pd.DataFrame(list(rows), columns=CASE_FIELDS, dtype=object)
    return frame.astype({f.name: pandas_dtype(f) for f in SCHEMA.case_fields})  # type: ignore[arg-type]


@st.composite
def case_rows(draw: st.DrawFn, min_size: int = 0, max_size: int = 60) -> list[dict[str, Any]]:
    """Random cases over small domains, so that classes of a few records form."""
    row = st.fixed_dictionaries({
        "year_of_registration": st.sampled_from(YEARS),
        "gender": st.sampled_from(GENDERS),
        "age_broad": st.sampled_from(AGES),
        "country_of_exploitation": st.sampled_from(COUNTRIES),
        "is_forced_labour": st.sampled_from(FLAGS),
        "is_sexual_exploit": st.sampled_from(FLAGS),
        "data_source": st.sampled_from(["case_management", "hotline", None]),
    })
    return draw(st.lists(row, min_size=min_size, max_size=max_size))


def key_of(value: object) -> str:
    """The hierarchy key of an internal value, written independently of the code under test."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def generalised(frame: pd.DataFrame, hierarchies: Mapping[str, Hierarchy],
                levels: Mapping[str, int]) -> pd.DataFrame:
    """Each record's published QI labels, row by row in Python (slow and obviously right)."""
    out = {}
    for q, h in hierarchies.items():
        mapping = h.mapping(levels[q])
        out[q] = [mapping[key_of(v)] for v in frame[q].astype(object)]
    return pd.DataFrame(out, index=frame.index)


@dataclass(frozen=True)
class BruteNode:
    levels: tuple[int, ...]
    suppressed: int
    loss: float
    feasible: bool
    kept: tuple[bool, ...]


def brute_force(frame: pd.DataFrame, hierarchies: Mapping[str, Hierarchy], *, k: int,
                max_suppression: float, metric: str) -> list[BruteNode]:
    """Every node of the lattice, counted with Counters over label tuples."""
    qis = list(hierarchies)
    n, q = len(frame), len(qis)
    limit = math.floor(n * max_suppression + 1e-9)
    out = []
    keys = {c: [key_of(v) for v in frame[c].astype(object)] for c in qis}
    maps = {c: [h.mapping(lv) for lv in range(h.top + 1)] for c, h in hierarchies.items()}
    for node in itertools.product(*(range(h.top + 1) for h in hierarchies.values())):
        levels = dict(zip(qis, node, strict=True))
        rows = list(zip(*([maps[c][levels[c]][key] for key in keys[c]] for c in qis),
                        strict=True))
        sizes = Counter(rows)
        kept = tuple(sizes[r] >= k for r in rows)
        suppressed = kept.count(False)
        if metric == "ncp":
            share = {c: Counter(hierarchies[c].labels[levels[c]]) for c in qis}
            total = 0.0
            for r, keep in zip(rows, kept, strict=True):
                if not keep:
                    total += q
                    continue
                for c, label in zip(qis, r, strict=True):
                    total += (share[c][label] - 1) / (len(hierarchies[c].keys) - 1)
            loss = total / (n * q) if n else 0.0
        else:
            loss = float(sum(sizes[r] for r, keep in zip(rows, kept, strict=True) if keep)
                         + n * suppressed)
        out.append(BruteNode(node, suppressed, loss, suppressed <= limit, kept))
    return out
