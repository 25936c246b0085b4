"""Benchmark k-anonymised microdata on CTDC's global dataset and on 1M resampled cases.

Prints, per dataset: the chosen node, suppression, loss, and times of the pruned search and
of the whole product (search, publishing in CTDC form, pycanon verification), against
baselines measured in the same run: an exhaustive search that counts every node of the
lattice, and the naive node (every quasi-identifier one level below suppression).

Then, on the same data, quasi-identifiers, k, suppression limit and hierarchies, it compares
the product with anjana (a Python k-anonymity library). anjana pins numpy 2.0.2, pandas 2.3.3
and pycanon 1.3.5, which conflict with constraints.txt, so it lives in a virtualenv of its own
and runs in a subprocess of this run (--anjana-python). It gets the records as the
hierarchies' key codes and the hierarchies in its own format (per QI: level -> column of
labels); its output comes back as published QI labels. Both outputs are then measured here
by the same function: levels, suppressed records, NCP, discernibility, equivalence classes,
and k (this environment's pycanon, cross-checked by a groupby).

Set up anjana once (see bench/RESULTS.md):
    .venv/bin/python -m venv var/venv-anjana
    var/venv-anjana/bin/pip install anjana==1.2.3
Run: .venv/bin/python bench/kanon.py [--rows 1000000] [--seed 1] [--anjana-timeout 600]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pycanon import anonymity  # noqa: E402

from privacy.kanon import KAnonResult, KAnonSpec, anonymise  # noqa: E402
from privacy.kanon.hierarchies import MISSING, Hierarchy, hierarchy_for  # noqa: E402
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
ANJANA_PYTHON = Path(os.environ.get("ANJANA_PYTHON",
                                    ROOT / "var" / "venv-anjana" / "bin" / "python"))


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


@dataclass(frozen=True)
class Ours:
    """One run of the product, kept for the comparison with anjana."""

    spec: KAnonSpec
    result: KAnonResult
    search_seconds: float
    product_seconds: float


@dataclass(frozen=True)
class Measured:
    """An output measured by this benchmark, the same way whichever tool produced it."""

    levels: tuple[int, ...] | None  # None: nothing was published
    suppressed: int
    ncp: float
    discernibility: float
    classes: int
    k: int | None  # pycanon, cross-checked by a groupby; None when nothing was published


@dataclass(frozen=True)
class AnjanaRun:
    """anjana's output (QI columns, published labels) and what it says about itself."""

    published: pd.DataFrame | None  # None: it timed out or failed
    seconds: float  # anjana's own call, measured inside its process
    wall: float  # the whole subprocess: start-up, imports, reading input, writing output
    reported_levels: tuple[int, ...] | None
    reported_suppressed: int | None
    note: str = ""


def _level_of(values: set[str], h: Hierarchy) -> int:
    for level, labels in enumerate(h.labels):
        if values <= set(labels):
            return level
    raise ValueError(f"{h.field}: a published label is in no level of the hierarchy")


def pycanon_k(published: pd.DataFrame, qis: Sequence[str], groupby_k: int) -> int:
    """k measured by pycanon (this environment's, as in the product's release check)."""
    frame = published[list(qis)].reset_index(drop=True)  # pycanon takes labels as positions
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In a future version, the keys of `groups`")
        k = int(anonymity.k_anonymity(frame, list(qis)))
    if k != groupby_k:
        raise AssertionError(f"pycanon measures k={k}, a groupby k={groupby_k}")
    return k


def measure(published: pd.DataFrame, records_in: int,
            hierarchies: Mapping[str, Hierarchy]) -> Measured:
    """Loss of a published QI frame (one column per QI, cells are labels, "" = not supplied).

    The one function both outputs go through. A column's level is the lowest whose labels
    hold all its values (anjana's own rule). A cell costs its label's normalised certainty
    penalty at that level, (|group| - 1) / (|public domain| - 1); a suppressed record costs 1
    per QI; NCP is the total over records_in x QIs. Discernibility: a kept record costs the
    size of its class, a suppressed one records_in. These are the product's definitions, so
    its self-reported loss checks this function (see ``compare``).
    """
    qis = list(hierarchies)
    suppressed = records_in - len(published)
    if published.empty:
        return Measured(None, suppressed, 1.0, float(records_in) * suppressed, 0, None)
    if published[qis].isna().any().any():
        raise ValueError("a published QI cell is NA: not supplied must be the label ''")
    levels = []
    penalty = 0.0
    for qi in qis:
        h = hierarchies[qi]
        codes, uniques = pd.factorize(published[qi])
        values = [str(u) for u in uniques]
        level = _level_of(set(values), h)
        ncp_of = dict(zip(h.labels[level], h.ncp(level).tolist(), strict=True))
        counts = np.bincount(codes, minlength=len(values)).astype(np.float64)
        penalty += float(counts @ np.array([ncp_of[v] for v in values]))
        levels.append(level)
    ncp = (penalty + suppressed * len(qis)) / (records_in * len(qis))
    sizes = published.groupby(qis, sort=False, dropna=False).size().to_numpy(np.float64)
    discernibility = float((sizes * sizes).sum()) + float(records_in) * suppressed
    return Measured(tuple(levels), suppressed, ncp, discernibility, len(sizes),
                    pycanon_k(published, qis, int(sizes.min())))


def ours_published(result: KAnonResult) -> pd.DataFrame:
    """The product's published QI columns, back under their common-schema names."""
    columns = {}
    for qi in result.spec.quasi_identifiers:
        ctdc = SCHEMA.field(qi).ctdc
        assert ctdc is not None
        columns[qi] = result.frame[ctdc].astype("string").fillna(MISSING).astype(object)
    return pd.DataFrame(columns)


def _anjana_worker(workdir: str) -> None:
    """anjana's side, run in anjana's own virtualenv as ``python -c`` with this function's
    source: only the standard library, numpy, pandas and anjana may be used here."""
    import contextlib
    import io
    import json
    import time
    from pathlib import Path

    import numpy as np
    import pandas as pd
    from anjana.anonymity import k_anonymity_inner

    work = Path(workdir)
    task = json.loads((work / "task.json").read_text())
    qis = task["quasi_identifiers"]
    codes = np.load(work / "codes.npy")
    # The records as level-0 labels, and anjana's hierarchy format: per QI, level -> column.
    data = pd.DataFrame({q: np.array(task["labels"][q][0], dtype=object)[codes[:, j]]
                         for j, q in enumerate(qis)})
    hierarchies = {q: {level: pd.Series(labels, dtype=object)
                       for level, labels in enumerate(task["labels"][q])} for q in qis}
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress remarks
        # What anjana.anonymity.k_anonymity calls; it also returns suppression and levels.
        out, suppressed, levels = k_anonymity_inner(
            data, [], qis, task["k"], task["supp_level"], hierarchies)
    seconds = time.perf_counter() - started
    (out.reindex(columns=qis) if len(out) else pd.DataFrame(columns=qis)).to_csv(
        work / "published.csv", index=False)
    (work / "result.json").write_text(json.dumps({
        "seconds": seconds, "rows": len(out), "suppressed": int(suppressed),
        "levels": [int(levels.get(q, -1)) for q in qis]}))


def run_anjana(python: Path, codes: Mapping[str, npt.NDArray[np.int64]],
               hierarchies: Mapping[str, Hierarchy], k: int, max_suppression: float,
               timeout: float) -> AnjanaRun:
    """anjana's k-anonymity on the records ``codes`` (keys of ``hierarchies``), in its own
    virtualenv, with the same k and suppression limit (anjana takes it in percent)."""
    qis = list(hierarchies)
    with tempfile.TemporaryDirectory(prefix="kanon-anjana-") as tmp:
        work = Path(tmp)
        np.save(work / "codes.npy", np.column_stack([codes[q] for q in qis]))
        (work / "task.json").write_text(json.dumps({
            "quasi_identifiers": qis, "k": k, "supp_level": 100 * max_suppression,
            "labels": {q: [list(level) for level in hierarchies[q].labels] for q in qis}}))
        source = inspect.getsource(_anjana_worker) + "\n_anjana_worker(__import__('sys').argv[1])\n"
        started = time.perf_counter()
        try:
            done = subprocess.run([str(python), "-c", source, tmp], capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return AnjanaRun(None, timeout, time.perf_counter() - started, None, None,
                             f"timed out after {timeout:.0f} s")
        wall = time.perf_counter() - started
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return AnjanaRun(None, float("nan"), wall, None, None, f"failed: {last}")
        report = json.loads((work / "result.json").read_text())
        published = pd.read_csv(work / "published.csv", dtype=str, keep_default_na=False)
    if not report["rows"]:  # anjana gives up with an empty frame
        return AnjanaRun(None, report["seconds"], wall, tuple(report["levels"]),
                         report["suppressed"], "returned no records (k not reached)")
    return AnjanaRun(published.astype(object), report["seconds"], wall,
                     tuple(report["levels"]), report["suppressed"])


def bench(name: str, frame: pd.DataFrame, spec: KAnonSpec) -> tuple[str, Ours]:
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
    line = (
        f"| {name} | {len(frame):,} | {spec.k} | {spec.loss_metric} | ({levels}) |"
        f" {fast.best.suppressed:,} | {fast.best.loss:.4g} | {naive_text} |"
        f" {fast.evaluated}/{fast.lattice} |"
        f" {fast.seconds:.2f} s | {slow.seconds:.2f} s ({slow.seconds / fast.seconds:.1f}×) |"
        f" {product_seconds:.2f} s | {result.k_achieved} |")
    return line, Ours(spec, result, fast.seconds, product_seconds)


def _row(name: str, n: int, k: int, share: float, method: str, m: Measured,
         time_text: str) -> str:
    levels = "—" if m.levels is None else "(" + ",".join(str(v) for v in m.levels) + ")"
    return (f"| {name} | {n:,} | {k} | {share:.0%} | {method} | {levels} | {m.suppressed:,} |"
            f" {m.ncp:.5g} | {m.discernibility:.4g} | {m.classes:,} | {time_text} |"
            f" {'—' if m.k is None else m.k} |")


def compare(name: str, frame: pd.DataFrame, ours: Sequence[Ours], python: Path,
            timeout: float) -> tuple[list[str], list[str]]:
    """Table rows and notes: for each (k, suppression limit), the product's outputs and
    anjana's on ``frame``, all measured by ``measure``."""
    hierarchies = ours[0].result.hierarchies
    if any(o.result.hierarchies != hierarchies for o in ours):
        raise AssertionError("the product runs used different hierarchies")
    qis = ours[0].spec.quasi_identifiers
    hierarchies = {q: hierarchies[q] for q in qis}
    n = len(frame)
    rows: list[str] = []
    notes: list[str] = []
    for k, share in dict.fromkeys((o.spec.k, o.spec.max_suppression) for o in ours):
        for o in (o for o in ours if (o.spec.k, o.spec.max_suppression) == (k, share)):
            m = measure(ours_published(o.result), n, hierarchies)
            own = m.ncp if o.spec.loss_metric == "ncp" else m.discernibility
            if abs(own - o.result.information_loss) > 1e-9 * max(1.0, own):
                raise AssertionError(f"measured {own} but the product reports"
                                     f" {o.result.information_loss}")
            if m.levels != tuple(o.result.levels[q] for q in qis):
                raise AssertionError("measured levels differ from the product's")
            rows.append(_row(name, n, k, share, f"ours, least {o.spec.loss_metric}", m,
                             f"{o.search_seconds:.2f} s search;"
                             f" {o.product_seconds:.2f} s product"))
            print(rows[-1], flush=True)
        if not python.exists():
            notes.append(f"{name}, k={k}: anjana skipped, {python} does not exist")
            continue
        codes = {q: hierarchies[q].key_codes(frame[q]) for q in qis}
        run = run_anjana(python, codes, hierarchies, k, share, timeout)
        if run.published is None:
            rows.append(f"| {name} | {n:,} | {k} | {share:.0%} | anjana 1.2.3 | {run.note}"
                        f" | | | | | {run.wall:.1f} s | |")
            print(rows[-1], flush=True)
            continue
        m = measure(run.published, n, hierarchies)
        rows.append(_row(name, n, k, share, "anjana 1.2.3", m,
                         f"{run.seconds:.2f} s ({run.wall:.1f} s with start-up and I/O)"))
        print(rows[-1], flush=True)
        if m.levels != run.reported_levels or m.suppressed != run.reported_suppressed:
            notes.append(f"{name}, k={k}: anjana reports levels {run.reported_levels} and"
                         f" {run.reported_suppressed} suppressed; measured {m.levels},"
                         f" {m.suppressed}")
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--anjana-python", type=Path, default=ANJANA_PYTHON,
                        help="python of anjana's virtualenv (default: $ANJANA_PYTHON or"
                             " var/venv-anjana/bin/python)")
    parser.add_argument("--anjana-timeout", type=float, default=600.0,
                        help="seconds before an anjana run is abandoned")
    parser.add_argument("--anjana-rows", type=int, default=None,
                        help="compare on the first N resampled cases instead of all of them"
                             " (for when anjana cannot handle --rows)")
    args = parser.parse_args()
    if not CTDC.exists():
        sys.exit(f"{CTDC} is missing: the benchmark needs ../shared beside the checkout")
    ctdc = load_ctdc()
    big = resampled(ctdc, args.rows, args.seed)
    specs = (KAnonSpec(year_max=YEARS[1]),
             KAnonSpec(year_max=YEARS[1], loss_metric="discernibility"),
             KAnonSpec(year_max=YEARS[1], k=50, max_suppression=0.01),
             KAnonSpec(year_max=YEARS[1], k=50, max_suppression=0.01,
                       loss_metric="discernibility"))
    lines = [
        "| data | cases | k | metric | node | suppressed | loss | naive node loss |"
        " nodes counted | search | exhaustive (ratio) | whole product | k (pycanon) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    versus = [
        "| data | cases | k | max. supp. | method | levels | suppressed | NCP |"
        " discernibility | classes | time | k (pycanon) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    datasets = [("CTDC 2018", ctdc), ("CTDC resampled, 10% QI noise", big)]
    if args.anjana_rows is not None and args.anjana_rows < len(big):
        datasets.append((f"first {args.anjana_rows:,} resampled",
                         big.iloc[:args.anjana_rows].reset_index(drop=True)))
    for name, frame in datasets:
        ours = []
        for spec in specs:
            line, run = bench(name, frame, spec)
            lines.append(line)
            ours.append(run)
            print(line, flush=True)
        rows, more = compare(name, frame, ours, args.anjana_python, args.anjana_timeout)
        versus += rows
        notes += more
    print()
    print("\n".join(lines))
    print()
    print("\n".join(versus))
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
