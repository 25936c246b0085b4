"""Benchmark: all 1-, 2- and 3-way DP tables over 12 dimensions on 1M cases.

Times the exact counting (SQL GROUP BY where the data sits, then each table summed out of
its result in numpy: ``privacy.counts.exact_counts_many``) and the noise (OpenDP discrete
Gaussian) separately, and reports the mean absolute error per table type at the configured
rho. ``--per-table`` also times the former way, one GROUP BY per table, and checks that both
give the same counts; ``--max-columns 3`` counts with one scan per 3-way table instead of
one for all. ``--database-url`` runs against PostgreSQL (an empty schema to create tables
in), where ``--grouping-sets`` also times one ``GROUP BY GROUPING SETS`` query for all tables.
Run: .venv/bin/python bench/dp_tables.py [--cases N] [--rho R] [--per-table]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctcollab.database import make_engine, upgrade  # noqa: E402
from privacy.counts import (  # noqa: E402
    cells,
    domain,
    exact_counts,
    exact_counts_many,
    group_by,
    scan_plan,
    table_counts,
)
from privacy.mechanisms import discrete_gaussian, gaussian_scale  # noqa: E402
from schemas.ctdc_form import from_ctdc  # noqa: E402
from schemas.tables import cases, counted_cases, organisations, uploads  # noqa: E402

CTDC = (ROOT.parent / "shared" / "data" / "ctdc"
        / "ctdc_global_kanon_2018_individual_database.csv.gz")
DIMENSIONS = ("year_of_registration", "data_source", "gender", "age_broad", "majority_status",
              "citizenship", "country_of_exploitation", "is_forced_labour", "is_sexual_exploit",
              "is_other_exploit", "is_abduction", "means_of_control_debt_bondage")


def uniform(n: int, seed: int) -> pd.DataFrame:
    """The worst case for counting from one scan: every dimension drawn independently and
    uniformly from its public domain, so nearly every case is a combination of its own."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({d: pd.Series(domain(d, 2015), dtype=object).iloc[
        rng.integers(0, len(domain(d, 2015)), n)].to_numpy() for d in DIMENSIONS})
    frame["year_of_registration"] = frame["year_of_registration"].astype("Int16")
    return frame


def load(engine: sa.Engine, n: int, seed: int, *, diverse: bool = False) -> None:
    if diverse:
        sample = uniform(n, seed)
    else:
        real = from_ctdc(pd.read_csv(CTDC, dtype=str, keep_default_na=False))
        # CTDC's years (2002-2017) shifted onto the public domain used here (from 2015).
        real["year_of_registration"] = (real["year_of_registration"] + 8).astype("Int16")
        sample = real.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    sample["case_key"] = [f"{i:064x}" for i in range(n)]
    sample["org_id"] = 1
    sample["upload_id"] = 1
    sample["mapping_version"] = "bench/1"
    sample["ingested_at"] = pd.Timestamp("2026-01-01", tz="UTC")
    with engine.begin() as conn:
        conn.execute(organisations.insert().values(id=1, slug="bench", name="Bench"))
        conn.execute(uploads.insert().values(id=1, org_id=1, filename="b", size=1,
                                             sha256="0" * 64, status="harmonised"))
    cols = [c.name for c in cases.columns if c.name in sample.columns]
    frame = sample[cols].astype(object).where(sample[cols].notna(), None)
    frame.to_sql("cases", engine, if_exists="append", index=False, chunksize=50_000)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE cases")


def grouping_sets_seconds(conn: sa.Connection, sets: list[tuple[str, ...]]) -> tuple[float, int]:
    """One PostgreSQL query for all ``sets``: the time to run it and fetch its rows."""
    counted = counted_cases().subquery()
    used = list(dict.fromkeys(d for s in sets for d in s))
    cols = [counted.c[d] for d in used]
    spec = ", ".join("(" + ", ".join(f'"{d}"' for d in s) + ")" for s in sets)
    query = sa.select(*cols, sa.func.grouping(*cols), sa.func.count()).group_by(
        sa.text(f"GROUPING SETS ({spec})"))
    t = time.perf_counter()
    rows = conn.execute(query).all()
    return time.perf_counter() - t, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rho", type=float, default=0.5)
    parser.add_argument("--max-way", type=int, default=3)
    parser.add_argument("--max-columns", type=int, default=None)
    parser.add_argument("--per-table", action="store_true",
                        help="also time one GROUP BY per table and compare the counts")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--grouping-sets", action="store_true")
    parser.add_argument("--no-noise", action="store_true")
    parser.add_argument("--uniform", action="store_true",
                        help="uniform random cases instead of CTDC's (many more combinations)")
    args = parser.parse_args()
    tables = [t for k in range(1, args.max_way + 1)
              for t in itertools.combinations(DIMENSIONS, k)]
    ways = range(1, args.max_way + 1)
    rho_each = Fraction(str(args.rho)) / len(tables)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.database_url or f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        t0 = time.perf_counter()
        load(engine, args.cases, seed=1, diverse=args.uniform)
        load_s = time.perf_counter() - t0
        derive_s = dict.fromkeys(ways, 0.0)
        direct_s = dict.fromkeys(ways, 0.0)
        noise_s = dict.fromkeys(ways, 0.0)
        errors: dict[int, list[float]] = {k: [] for k in ways}
        n_cells = dict.fromkeys(ways, 0)
        with engine.connect() as conn:
            # The release's way: every table from as few scans as possible.
            t = time.perf_counter()
            many = exact_counts_many(conn, tables, 2015, max_columns=args.max_columns)
            many_s = time.perf_counter() - t
            exact_of = dict(zip(tables, many, strict=True))
            # The same again with its two steps timed apart: the scans in SQL, the sums.
            plan = scan_plan(tables, args.max_columns)
            t = time.perf_counter()
            grouped = [group_by(conn, g) for g in plan]
            scan_s = time.perf_counter() - t
            codes: list[dict[str, tuple[np.ndarray, int]]] = [{} for _ in plan]
            for dims in tables:
                i = next(i for i, g in enumerate(plan) if set(dims) <= set(g))
                t = time.perf_counter()
                summed = table_counts(grouped[i], dims, 2015, codes[i])
                derive_s[len(dims)] += time.perf_counter() - t
                assert summed.tolist() == exact_of[dims].tolist(), dims
            if args.per_table:
                for dims in tables:
                    t = time.perf_counter()
                    direct = exact_counts(conn, dims, 2015)
                    direct_s[len(dims)] += time.perf_counter() - t
                    assert list(direct.values()) == exact_of[dims].tolist(), dims
            gs = grouping_sets_seconds(conn, scan_plan(tables, 3)) if args.grouping_sets else None
            for dims in tables:
                k = len(dims)
                exact = exact_of[dims]
                n_cells[k] += len(cells(dims, 2015))
                if args.no_noise:
                    continue
                t = time.perf_counter()
                noisy = discrete_gaussian(exact.tolist(), rho_each)
                noise_s[k] += time.perf_counter() - t
                errors[k].append(float(np.mean(np.abs(np.asarray(noisy.values) - exact))))
    print(f"{engine.dialect.name}; cases: {args.cases:,}"
          f"{' (uniform random)' if args.uniform else ' (CTDC resampled)'}; "
          f"tables: {len(tables)} over "
          f"{len(DIMENSIONS)} dimensions; total rho {args.rho} (rho per table "
          f"{float(rho_each):.3g}, noise scale {gaussian_scale(rho_each):.3g}); "
          f"load {load_s:.1f} s")
    print(f"all tables counted (exact_counts_many): {many_s:.1f} s; of which scans: {len(plan)} "
          f"({', '.join(str(len(g)) for g in plan[:3])}{', ...' if len(plan) > 3 else ''} "
          f"columns) {scan_s:.1f} s in SQL, {sum(len(g.counts) for g in grouped):,} groups "
          f"returned, summed into tables in {sum(derive_s.values()):.2f} s")
    if gs is not None:
        print(f"GROUPING SETS over the {len(scan_plan(tables, 3))} maximal tables: {gs[0]:.1f} s,"
              f" {gs[1]:,} rows")
    print("| way | tables | cells | summed from the scan (s) | one GROUP BY per table (s) "
          "| noise (s) | mean abs. error per cell |")
    print("|---|---|---|---|---|---|---|")
    for k in ways:
        per_table = f"{direct_s[k]:.1f}" if args.per_table else "-"
        error = f"{np.mean(errors[k]):.2f}" if errors[k] else "-"
        print(f"| {k} | {sum(len(t) == k for t in tables)} | {n_cells[k]:,} | {derive_s[k]:.2f} "
              f"| {per_table} | {noise_s[k]:.1f} | {error} |")


if __name__ == "__main__":
    main()
