"""Benchmark k-anonymised microdata on CTDC's global dataset and on 1M resampled cases.

Prints, per dataset: the chosen node, suppression, loss, and times of the pruned search and
of the whole product (search, publishing in CTDC form, pycanon verification), against
baselines measured in the same run: an exhaustive search that counts every node of the
lattice, and the naive node (every quasi-identifier one level below suppression).
anjana (a Python k-anonymity library) is compared when it is installed.

Run: .venv/bin/python bench/kanon.py [--rows 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from privacy.kanon import KAnonSpec, anonymise  # noqa: E402
from privacy.kanon.hierarchies import hierarchy_for  # noqa: E402
from privacy.kanon.lattice import (  # noqa: E402
    Lattice,
    NodeResult,
    frequency_set,
    max_suppressed,
    search,
)
from schemas.ctdc_form import from_ctdc  # noqa: E402
from schemas.definition import SCHEMA  # noqa: E402

CTDC = (ROOT.parent / "shared" / "data" / "ctdc"
        / "ctdc_global_kanon_2018_individual_database.csv.gz")
YEARS = (2000, 2025)


@dataclass(frozen=True)
class Timing:
    seconds: float
    best: NodeResult
    evaluated: int
    lattice: int


def load_ctdc() -> pd.DataFrame:
    return from_ctdc(pd.read_csv(CTDC, dtype=str, keep_default_na=False))


def resampled(frame: pd.DataFrame, rows: int, seed: int, noise: float = 0.1) -> pd.DataFrame:
    """``rows`` cases drawn from ``frame``; a share ``noise`` of each QI is redrawn from
    the column's own values, so rare combinations (the hard part) appear at every scale."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    for q in SCHEMA.quasi_identifiers:
        redraw = rng.random(rows) < noise
        donors = frame[q].iloc[rng.integers(0, len(frame), int(redraw.sum()))].to_numpy()
        column = out[q].copy()
        column[redraw] = donors
        out[q] = column
    return out


def _lattice(frame: pd.DataFrame, spec: KAnonSpec) -> Lattice:
    hs = [hierarchy_for(q, years=YEARS) for q in spec.quasi_identifiers]
    freq = frequency_set({q: h.key_codes(frame[q])
                          for q, h in zip(spec.quasi_identifiers, hs, strict=True)})
    return Lattice(hs, freq, k=spec.k, max_suppressed=max_suppressed(len(frame),
                   spec.max_suppression), metric=spec.loss_metric)


def pruned(frame: pd.DataFrame, spec: KAnonSpec) -> Timing:
    started = time.perf_counter()
    lattice = _lattice(frame, spec)
    found = search(lattice)
    assert found is not None
    return Timing(time.perf_counter() - started, found.best, found.evaluated,
                  found.lattice_size)


def exhaustive(frame: pd.DataFrame, spec: KAnonSpec) -> Timing:
    """Baseline: count every node, keep the feasible one of least loss."""
    started = time.perf_counter()
    lattice = _lattice(frame, spec)
    results = [lattice.evaluate(node) for node in lattice.nodes]
    best = min((r for r in results if r.feasible), key=lambda r: (r.loss, r.height))
    return Timing(time.perf_counter() - started, best, len(results), len(results))


def naive(frame: pd.DataFrame, spec: KAnonSpec) -> NodeResult:
    lattice = _lattice(frame, spec)
    return lattice.evaluate(tuple(max(h.top - 1, 0) for h in lattice.hierarchies))


def anjana_result(frame: pd.DataFrame, spec: KAnonSpec) -> str:
    try:
        import anjana  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return "anjana is not installed: comparison skipped"
    return "anjana is installed but no adapter is written yet: comparison skipped"


def bench(name: str, frame: pd.DataFrame, spec: KAnonSpec) -> list[str]:
    fast = pruned(frame, spec)
    slow = exhaustive(frame, spec)
    base = naive(frame, spec)
    started = time.perf_counter()
    result = anonymise(frame, spec, seed=0)
    product_seconds = time.perf_counter() - started
    naive_text = (f"{base.loss:.4g} ({base.suppressed:,} supp.)" if base.feasible
                  else f"infeasible ({base.suppressed:,} to suppress)")
    assert abs(fast.best.loss - slow.best.loss) <= 1e-12 * max(1.0, slow.best.loss)
    levels = ",".join(str(v) for v in fast.best.levels)
    return [
        f"| {name} | {len(frame):,} | {spec.k} | {spec.loss_metric} | ({levels}) |"
        f" {fast.best.suppressed:,} | {fast.best.loss:.4g} | {naive_text} |"
        f" {fast.evaluated}/{fast.lattice} |"
        f" {fast.seconds:.2f} s | {slow.seconds:.2f} s ({slow.seconds / fast.seconds:.1f}×) |"
        f" {product_seconds:.2f} s | {result.k_achieved} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not CTDC.exists():
        sys.exit(f"{CTDC} is missing: the benchmark needs ../shared beside the checkout")
    ctdc = load_ctdc()
    big = resampled(ctdc, args.rows, args.seed)
    lines = [
        "| data | cases | k | metric | node | suppressed | loss | naive node loss |"
        " nodes counted | search | exhaustive (ratio) | whole product | k (pycanon) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, frame in (("CTDC 2018", ctdc), ("CTDC resampled, 10% QI noise", big)):
        for spec in (KAnonSpec(year_max=YEARS[1]),
                     KAnonSpec(year_max=YEARS[1], loss_metric="discernibility"),
                     KAnonSpec(year_max=YEARS[1], k=50, max_suppression=0.01)):
            lines += bench(name, frame, spec)
            print(lines[-1], flush=True)
    print()
    print("\n".join(lines))
    print()
    print(anjana_result(ctdc, KAnonSpec()))


if __name__ == "__main__":
    main()
