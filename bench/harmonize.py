"""Benchmark ingest + harmonize on a 1M-row French register against bare pandas mapping.

The file is the one `bench/ingest.py` makes (the Espoir Sahel register's shape, 1M rows) and
the mapping is the demo's own, `ctcollab/demo_mappings/espoir-sahel.yaml`: dates, ages to
bands, French labels and country names to codes, multi-select cells to flags, case ids to
HMAC keys. Storing the cases in a database is not measured.

The baseline, measured in the same run: `pandas.read_csv` of the same file, then
`df[col].map(lookup)` for each mapped column, with lookups (distinct value -> code) built
beforehand and outside the timing — the least any harmoniser has to do.

Each side runs in its own subprocess (its own peak RSS); they alternate `--repeat` times and
the best time counts. The CPU time of the best run is printed too: on a shared machine it says
about what the wall time would be without the other jobs. `--profile` prints where harmonize
spends its time (cProfile).

Run: .venv/bin/python bench/harmonize.py [--rows 1000000] [--repeat 2] [--profile]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAPPING = ROOT / "ctcollab" / "demo_mappings" / "espoir-sahel.yaml"
SECRET = b"bench-secret-not-for-production-0123456789"


def _bench_ingest() -> Any:
    """bench/ingest.py (not importable as `ingest`: that is the project's package)."""
    here = Path(__file__).with_name("ingest.py")
    spec = importlib.util.spec_from_file_location("bench_ingest", here)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mapped_columns() -> list[str]:
    from harmonize.mapping import load_mapping

    mapping = load_mapping(MAPPING)
    return [mapping.case_id, *(rule.column for rule in mapping.fields.values())]


def _read_csv(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)


def lookups(path: Path, out: Path) -> None:
    """Distinct value -> code for each mapped column (the case id column maps to itself)."""
    frame = _read_csv(path)
    tables = {
        col: {v: f"code-{i}" for i, v in enumerate(frame[col].unique())}
        for col in _mapped_columns()[1:]
    }
    out.write_text(json.dumps(tables, ensure_ascii=False), encoding="utf-8")


def child(side: str, path: Path, lookup_file: Path | None, profile: bool) -> dict[str, object]:
    import pandas as pd  # noqa: F401  (imported before the clock starts, for both sides)

    from harmonize.harmonizer import harmonize
    from harmonize.mapping import load_mapping
    from ingest.readers import read_table

    mapping = load_mapping(MAPPING)
    tables = json.loads(lookup_file.read_text(encoding="utf-8")) if lookup_file else {}
    phases: dict[str, float] = {}
    cpu_start = time.process_time()
    start = time.perf_counter()
    if side == "ctcollab":
        table = read_table(path.read_bytes(), path.name)
        phases["read"] = time.perf_counter() - start
        rows = len(table)
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        result = harmonize(table.frame, table.source_rows, mapping, org_id=1, secret=SECRET)
        if profile:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        phases["harmonize"] = time.perf_counter() - start - phases["read"]
        accepted = len(result.cases)
    else:
        frame = _read_csv(path)
        phases["read"] = time.perf_counter() - start
        mapped = {col: frame[col].map(table) for col, table in tables.items()}
        phases["map"] = time.perf_counter() - start - phases["read"]
        rows = accepted = len(frame)
        assert len(mapped) == len(tables)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {"side": side, "seconds": seconds, "cpu": cpu, "rows": rows, "accepted": accepted,
            "phases": phases, "load": os.getloadavg()[0],
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(side: str, path: Path, lookup_file: Path, profile: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", side, "--file", str(path),
            "--lookups", str(lookup_file)] + (["--profile"] if profile else [])
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    if profile:
        print(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", choices=("ctcollab", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--lookups", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file, args.lookups, args.profile)))
        return

    path = args.file or Path(tempfile.gettempdir()) / f"ctcollab-bench-fr-{args.rows}.csv"
    _bench_ingest().french_csv(path, args.rows)
    print(f"file: {path} ({path.stat().st_size / 1_048_576:,.1f} MB, {args.rows:,} rows); "
          f"mapping: {MAPPING.name}")
    with tempfile.TemporaryDirectory() as tmp:
        lookup_file = Path(tmp) / "lookups.json"
        lookups(path, lookup_file)
        results: dict[str, list[dict[str, Any]]] = {"pandas": [], "ctcollab": []}
        for _ in range(args.repeat):
            for side in ("pandas", "ctcollab"):
                results[side].append(measure(side, path, lookup_file))
        if args.profile:
            measure("ctcollab", path, lookup_file, profile=True)
    best = {s: min(runs, key=lambda r: float(r["seconds"])) for s, runs in results.items()}
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, load average "
          f"{os.getloadavg()[0]:.1f}; Python {platform.python_version()}")
    print(f"{'side':<34}{'best s':>8}{'rows/s':>11}{'CPU s':>8}{'peak RSS MiB':>14}   phases (s)")
    labels = {"pandas": "read_csv + map per mapped column",
              "ctcollab": "read_table + harmonize"}
    for side in ("pandas", "ctcollab"):
        b = best[side]
        phases = ", ".join(f"{k} {v:.2f}" for k, v in b["phases"].items())
        print(f"{labels[side]:<34}{b['seconds']:>8.2f}{b['rows'] / b['seconds']:>11,.0f}"
              f"{b['cpu']:>8.2f}{b['peak_mib']:>14,.0f}   {phases}")
        runs = ", ".join(f"{r['seconds']:.2f} (load {r['load']:.1f})" for r in results[side])
        print(f"{'':<34}runs: {runs}")
    ours = best["ctcollab"]
    print(f"cases accepted: {ours['accepted']:,} of {ours['rows']:,} rows")
    print(f"ratio ingest+harmonize / bare pandas (rows/s): "
          f"{best['pandas']['seconds'] / ours['seconds']:.2f}x; target >= 200,000 rows/s: "
          f"{ours['rows'] / ours['seconds']:,.0f}")


if __name__ == "__main__":
    main()
