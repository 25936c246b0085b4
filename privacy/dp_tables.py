"""DP aggregate tables: noisy counts over public domains, intervals and Eurostat-style flags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import sqlalchemy as sa

from privacy.consistency import NoisyTable, make_consistent
from privacy.counts import cells, exact_counts_many
from privacy.mechanisms import discrete_gaussian, epsilon_of
from privacy.noise import OPENDP, NoiseSource
from privacy.spec import DpTablesSpec, TableSpec
from schemas.definition import SCHEMA


@dataclass(frozen=True)
class DpTable:
    """One published table and exactly what protects it."""

    spec: TableSpec
    frame: pd.DataFrame  # dimensions..., count, lower_95, upper_95, flag
    rho: Fraction
    epsilon: float
    delta: float
    scale: float
    accuracy95: float
    threshold: int
    noise: str = OPENDP.kind  # "opendp-csprng" or "seeded" (privacy.noise)


@dataclass(frozen=True)
class PlannedSpend:
    item: str
    rho: Fraction


def plan(spec: DpTablesSpec) -> list[PlannedSpend]:
    """What the tables will spend; computed before any data is read."""
    return [PlannedSpend(t.name, spec.rho_of(t)) for t in spec.tables]


def _postprocess(values: np.ndarray, accuracy: float, spec: DpTablesSpec) -> pd.DataFrame:
    """A 95% interval and flags around consistent non-negative counts; numbers stay numeric.

    Only noisy values are used here, so this is post-processing: it costs no budget.
    """
    counts = pd.Series(values, dtype="Int64")
    half = round(accuracy)
    lower = (counts - half).clip(lower=0)
    upper = counts + half
    flag = pd.Series(pd.NA, index=counts.index, dtype="string")
    flag[counts.astype(float) * spec.unreliable_share < accuracy] = "u"
    withheld = counts < spec.threshold
    flag[withheld] = "c"
    return pd.DataFrame({
        "count": counts.mask(withheld),
        "lower_95": lower.mask(withheld),
        "upper_95": upper.mask(withheld),
        "flag": flag,
    })


def _dimension_frame(dims: tuple[str, ...], keys: list[tuple[object, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(keys, columns=list(dims))
    for d in dims:
        f = SCHEMA.field(d)
        if f.type == "year":
            frame[d] = frame[d].astype("Int16")
        elif f.type == "flag":
            frame[d] = frame[d].map({True: 1, False: 0}).astype("Int8")
        else:
            frame[d] = frame[d].astype("string")
    return frame


def release_tables(conn: sa.Connection, spec: DpTablesSpec, year_min: int, *,
                   noise: NoiseSource = OPENDP) -> list[DpTable]:
    """Count the tables in the database, add calibrated noise to every cell, reconcile."""
    # All tables from as few scans as possible (one GROUP BY over the union of dimensions,
    # each table summed out of it): the same exact counts as one GROUP BY per table.
    exact = exact_counts_many(conn, [t.dimensions for t in spec.tables], year_min)
    measured = []
    for table, counts in zip(spec.tables, exact, strict=True):
        rho = spec.rho_of(table)
        keys = cells(table.dimensions, year_min)
        # The label holds everything that decides this table's cells: a seeded source keys
        # its noise by it (and by the scale), so the same seed never reuses noise on a
        # different question, and the order of the tables does not matter.
        label = f"dp-table|{table.name}|{','.join(table.dimensions)}|{_cells_digest(keys)}"
        noisy = discrete_gaussian(counts.tolist(), rho, noise=noise, label=label)
        measured.append((table, rho, keys, noisy))
    noisy_tables = [
        NoisyTable(t.dimensions, _dimension_frame(t.dimensions, keys),
                   np.asarray(noisy.values, dtype=float), noisy.scale ** 2)
        for t, _rho, keys, noisy in measured
    ]
    consistent = make_consistent(noisy_tables)
    out = []
    for (table, rho, _keys, noisy), nt, values in zip(measured, noisy_tables, consistent,
                                                      strict=True):
        frame = pd.concat([nt.keys, _postprocess(values, noisy.accuracy95, spec)], axis=1)
        out.append(DpTable(
            spec=table, frame=frame, rho=rho, epsilon=epsilon_of(float(rho), spec.delta),
            delta=spec.delta, scale=noisy.scale, accuracy95=noisy.accuracy95,
            threshold=spec.threshold, noise=noise.kind,
        ))
    return out


def _cells_digest(keys: list[tuple[object, ...]]) -> str:
    """A short fingerprint of a table's public cells, in order (e.g. the years covered)."""
    return hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
