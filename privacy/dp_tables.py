"""DP aggregate tables: measured per cohort, summed, reconciled; intervals and flags."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import sqlalchemy as sa

from privacy import intervals
from privacy.accountant import Accountant
from privacy.consistency import NoisyTable, make_consistent
from privacy.counts import Cell, Source, cells, exact_counts_by_cohort
from privacy.mechanisms import (
    discrete_gaussian,
    discrete_gaussian_half_width,
    epsilon_of,
    gaussian_scale,
)
from privacy.noise import OPENDP, NoiseSource
from privacy.spec import DpTablesSpec, TableSpec
from schemas.definition import SCHEMA

PRODUCT = "dp-table"
# The columns of one cohort's measurement file after the table's dimensions.
NOISY, SCALE = "noisy_count", "noise_scale"


def item_key(table: TableSpec) -> str:
    """What identifies a table's measurement for reuse: its name and its dimensions."""
    return f"{table.name}({','.join(table.dimensions)})"


@dataclass(frozen=True)
class CohortMeasurement:
    """One table measured for one cohort: raw noisy counts (unbiased, may be negative) over
    the cohort's cells, and the scale of the discrete Gaussian noise added to each."""

    table: TableSpec
    cohort: int
    keys: list[Cell]
    noisy: np.ndarray  # int64, one per key
    scale: float

    def to_csv(self) -> bytes:
        """The published (and, once the cohort is closed, frozen) measurement file."""
        frame = _dimension_frame(self.table.dimensions, self.keys)
        frame[NOISY] = self.noisy.astype(np.int64)
        frame[SCALE] = self.scale
        buf = io.StringIO()
        frame.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue().encode("utf-8")

    @classmethod
    def from_csv(cls, table: TableSpec, cohort: int, data: bytes, year_min: int
                 ) -> CohortMeasurement | None:
        """A frozen measurement read back; None when its cells are not the table's today
        (another vocabulary or dimensions): it cannot be reused and must be measured."""
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        keys = cells(table.dimensions, year_min, cohort)
        if list(frame.columns) != [*table.dimensions, NOISY, SCALE] or len(frame) != len(keys):
            return None
        expected = _dimension_frame(table.dimensions, keys)
        for d in table.dimensions:
            written = expected[d].astype("string").fillna("").astype(str).tolist()
            if written != frame[d].tolist():
                return None
        scales = frame[SCALE].astype(float).unique()
        if len(scales) != 1:
            return None
        return cls(table, cohort, keys, frame[NOISY].astype(np.int64).to_numpy(),
                   float(scales[0]))


@dataclass(frozen=True)
class DpTable:
    """One published table (all cohorts together) and exactly what protects it."""

    spec: TableSpec
    frame: pd.DataFrame  # dimensions..., count, lower_95, upper_95, flag
    raw: pd.DataFrame  # dimensions..., estimate, variance: the unbiased sums of measurements
    rho: Fraction  # what each cohort measured by this release was charged for it
    epsilon: float
    delta: float
    scale: float  # per cohort
    accuracy95: float  # half-width of one cohort's cell at 95%
    threshold: int  # the smallest published value of a one-cohort cell
    cohorts: tuple[int, ...]
    noise: str = OPENDP.kind  # "opendp-csprng" or "seeded" (privacy.noise)


def _dimension_frame(dims: tuple[str, ...], keys: Sequence[Cell]) -> pd.DataFrame:
    frame = pd.DataFrame(list(keys), columns=list(dims))
    for d in dims:
        f = SCHEMA.field(d)
        if f.type == "year":
            frame[d] = frame[d].astype("Int16")
        elif f.type == "flag":
            frame[d] = frame[d].map({True: 1, False: 0}).astype("Int8")
        else:
            frame[d] = frame[d].astype("string")
    return frame


def measure(conn: sa.Connection, source: Source, spec: DpTablesSpec, year_min: int,
            wanted: Mapping[int, Sequence[TableSpec]], accountant: Accountant, *,
            noise: NoiseSource = OPENDP) -> dict[tuple[int, str], CohortMeasurement]:
    """Measure the tables each cohort needs, from one scan of the snapshot.

    Every draw is charged to its cohort by the accountant. Cohorts are disjoint sets of
    persons, and a person is one record of the snapshot, so each table of each cohort has
    sensitivity 1 and a person's loss for a table is that table's rho, however many cohorts
    are measured.
    """
    # TableSpec is not hashable (it holds a dict of titles): keep one of each by name.
    tables = list({t.name: t for ts in wanted.values() for t in ts}.values())
    if not tables:
        return {}
    exact = exact_counts_by_cohort(conn, source, [t.dimensions for t in tables], year_min,
                                   list(wanted))
    at = {t.name: i for i, t in enumerate(tables)}
    out = {}
    for cohort, needed in wanted.items():
        for table in needed:
            counts = exact[cohort][at[table.name]]
            keys = cells(table.dimensions, year_min, cohort)
            label = (f"dp-table|{cohort}|{table.name}|{','.join(table.dimensions)}|"
                     f"{_cells_digest(keys)}")
            charged = accountant.source(noise, cohort, PRODUCT, table.name)
            noisy = discrete_gaussian(counts.tolist(), spec.rho_of(table), noise=charged,
                                      label=label)
            out[cohort, table.name] = CohortMeasurement(
                table, cohort, keys, np.asarray(noisy.values, dtype=np.int64), noisy.scale)
    return out


def combine(spec: DpTablesSpec, year_min: int,
            measured: Mapping[tuple[int, str], CohortMeasurement], *,
            noise_kind: str = OPENDP.kind) -> list[DpTable]:
    """The published tables: every cohort's measurement summed, reconciled, flagged.

    Only noisy values are used here (post-processing: it costs no budget). A cell's estimate
    is the sum of the measurements of the cohorts whose cells it covers; its noise is the sum
    of their independent noises, whose variances add up.
    """
    sums = []
    for table in spec.tables:
        keys = cells(table.dimensions, year_min)
        position = {k: i for i, k in enumerate(keys)}
        estimate = np.zeros(len(keys), dtype=np.int64)
        variance = np.zeros(len(keys), dtype=float)
        scales: list[list[float]] = [[] for _ in keys]
        cohorts = sorted(c for c, name in measured if name == table.name)
        for cohort in cohorts:
            m = measured[cohort, table.name]
            at = np.fromiter((position[k] for k in m.keys), dtype=np.int64, count=len(m.keys))
            estimate[at] += m.noisy
            variance[at] += m.scale ** 2
            for i in at:
                scales[i].append(m.scale)
        sums.append((table, _dimension_frame(table.dimensions, keys), estimate, variance,
                     scales, tuple(cohorts)))
    noisy_tables = [NoisyTable(t.dimensions, frame_keys, estimate.astype(float), variance)
                    for t, frame_keys, estimate, variance, _s, _c in sums]
    consistent = make_consistent(noisy_tables)
    out = []
    for (table, frame_keys, estimate, variance, scales, measured_cohorts), values in zip(
            sums, consistent, strict=True):
        rho = spec.rho_of(table)
        raw = frame_keys.copy()
        raw["estimate"] = pd.array(estimate, dtype="Int64")
        raw["variance"] = variance
        scale = gaussian_scale(rho)
        out.append(DpTable(
            spec=table, raw=raw, rho=rho,
            frame=pd.concat([frame_keys, _published(estimate, scales, values, spec)], axis=1),
            epsilon=epsilon_of(float(rho), spec.delta), delta=spec.delta, scale=scale,
            accuracy95=float(discrete_gaussian_half_width(scale)),
            threshold=intervals.publication_threshold([scale]), cohorts=measured_cohorts,
            noise=noise_kind))
    return out


def _published(estimate: np.ndarray, scales: list[list[float]], values: np.ndarray,
               spec: DpTablesSpec) -> pd.DataFrame:
    """count, lower_95, upper_95, flag for every cell.

    Whether a cell is published, and its interval, come from its raw sum alone and the law of
    its noise (``privacy.intervals``: at most one phantom per 1,000 true zeros, and coverage
    that holds for published cells). Cells sharing the same cohorts' scales are decided
    together. The count shown is the reconciled integer, so that nested tables add up.
    """
    n = len(estimate)
    count = np.zeros(n, dtype=np.int64)
    lower = np.zeros(n, dtype=np.int64)
    upper = np.zeros(n, dtype=np.int64)
    shown = np.zeros(n, dtype=bool)
    flag = np.full(n, "c", dtype=object)
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, s in enumerate(scales):
        groups.setdefault(tuple(sorted(s)), []).append(i)
    for law, members in groups.items():
        if not law:
            continue  # no cohort measured it: withheld
        at = np.asarray(members, dtype=np.int64)
        cells = intervals.publish_cells(estimate[at], law, confidence=0.95,
                                        unreliable_share=spec.unreliable_share)
        shown[at] = cells.published
        lower[at], upper[at] = cells.lower, cells.upper
        count[at] = values[at]
        flag[at] = cells.flag
    # A reconciled count outside its cell's interval is flagged unreliable too.
    off = shown & ((count < lower) | (count > upper)) & (flag != "c")
    flag[off] = "u"
    out = pd.DataFrame({
        "count": pd.array(count, dtype="Int64"),
        "lower_95": pd.array(lower, dtype="Int64"),
        "upper_95": pd.array(upper, dtype="Int64"),
        "flag": pd.array(flag, dtype="string"),
    })
    hidden = ~shown
    for col in ("count", "lower_95", "upper_95"):
        out.loc[hidden, col] = pd.NA
    return out


def _cells_digest(keys: list[Cell]) -> str:
    """A short fingerprint of a table's public cells, in order (e.g. the years covered)."""
    return hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
