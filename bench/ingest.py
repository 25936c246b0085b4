"""Benchmark ingest.readers.read_table on a 1M-row French CSV against bare pandas.read_csv.

The file has the shape of the Espoir Sahel register (`ctcollab.demodata`): ';'-separated,
Windows-1252, CRLF, dd/mm/yyyy dates, decimal commas, 16 columns, quoted multi-select
cells. Its rows are drawn from a generated demo register and given unique case ids.

Each reader runs in its own subprocess, so that its peak RSS (ru_maxrss) is its own; the
two alternate `--repeat` times and the best time of each counts (the machine is shared).
Both include reading the file from disk. The baseline is what the issue names:
`pandas.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)`.

Run: .venv/bin/python bench/ingest.py [--rows 1000000] [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: good demo records drawn to make the pool of rows (Espoir Sahel gets 35% of them)
POOL_RECORDS = 20_000


def french_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """Write `rows` register rows to `path` (cp1252, ';', CRLF); reuse it if already there."""
    if path.exists() and path.stat().st_size > 0:
        return path
    import numpy as np

    from ctcollab import demodata

    with tempfile.TemporaryDirectory() as tmp:
        pool_file = Path(tmp) / "pool.csv"
        pool_rows = demodata.build_rows(POOL_RECORDS, seed)["espoir-sahel"]
        demodata.write_espoir_sahel(pool_rows, pool_file, np.random.default_rng(seed))
        text = pool_file.read_bytes().decode("cp1252")
    header, *pool = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".part")
    with tmp_path.open("wb") as out:
        for block in _blocks(header, pool, rows):
            out.write(block.encode("cp1252"))
    tmp_path.replace(path)
    return path


def _blocks(header: list[str], pool: list[list[str]], rows: int) -> Iterator[str]:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for k in range(rows):
        row = list(pool[k % len(pool)])
        if row[0]:  # "AES-2019-0042" -> a unique id of the same year; a missing id stays missing
            row[0] = f"AES-{row[0].split('-')[1]}-{k + 1:07d}"
        writer.writerow(row)
        if k % 50_000 == 49_999:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- one measurement, in a child process ---------------------------------------------------


def _rss_now_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def child(reader: str, path: Path) -> dict[str, Any]:
    import pandas as pd

    from ingest.readers import read_table

    baseline = _rss_now_kib()
    start = time.perf_counter()
    if reader == "read_table":
        table = read_table(path.read_bytes(), path.name)
        rows, columns = len(table), len(table.columns)
    else:
        frame = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
        rows, columns = len(frame), len(frame.columns)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"reader": reader, "seconds": seconds, "rows": rows, "columns": columns,
            "baseline_mib": baseline / 1024, "peak_mib": peak / 1024}


def measure(reader: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", reader, "--file", str(path)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--file", type=Path, default=None,
                        help="where the generated CSV is kept (default: a temp file)")
    parser.add_argument("--child", choices=("read_table", "pandas"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file)))
        return

    path = args.file or Path(tempfile.gettempdir()) / f"ctcollab-bench-fr-{args.rows}.csv"
    started = time.perf_counter()
    french_csv(path, args.rows)
    print(f"file: {path} ({path.stat().st_size / 1_048_576:,.1f} MB, {args.rows:,} rows, "
          f"made or reused in {time.perf_counter() - started:.1f} s)")
    results: dict[str, list[dict[str, Any]]] = {"pandas": [], "read_table": []}
    for _ in range(args.repeat):
        for reader in ("pandas", "read_table"):
            results[reader].append(measure(reader, path))
    best = {r: min(runs, key=lambda x: float(x["seconds"])) for r, runs in results.items()}
    counts = (best["pandas"]["rows"], best["read_table"]["rows"])
    if counts[0] != counts[1]:
        print(f"warning: row counts differ: pandas {counts[0]}, read_table {counts[1]}")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}")
    print(f"{'reader':<22}{'best s':>9}{'rows/s':>12}{'peak RSS MiB':>14}{'(after imports)':>17}"
          f"   all runs (s)")
    for reader, label in (("pandas", "pandas.read_csv"), ("read_table", "ingest read_table")):
        b = best[reader]
        runs = ", ".join(f"{r['seconds']:.2f}" for r in results[reader])
        print(f"{label:<22}{b['seconds']:>9.2f}{b['rows'] / b['seconds']:>12,.0f}"
              f"{b['peak_mib']:>14,.0f}{b['baseline_mib']:>17,.0f}   {runs}")
    ratio = best["pandas"]["seconds"] / best["read_table"]["seconds"]
    print(f"ratio read_table / read_csv (rows/s): {ratio:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main()
