"""Benchmark DP synthetic data: our marginal synthesizer against pac-synth on CTDC's global dataset.

Run: .venv/bin/python bench/synth.py [--epsilons 1 4] [--reps 3] [--pac-reps 1] [--write]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

# Both synthesizers run in the same process on the same columns at the same (epsilon, delta);
# ours gets the rho whose (epsilon, delta) conversion equals the target. Error is the mean
# total variation distance (TVD) over all 1-, 2- and 3-way marginals: half the L1 distance
# between the real and synthetic normalised frequency tables over the full public domain,
# missing counted as a category. This compares with the raw data, so it lives here only.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from privacy.synthetic import DEFAULT_COLUMNS, SyntheticSpec, synthesize  # noqa: E402
from privacy.synthetic.domain import Domain, encode  # noqa: E402
from privacy.synthetic.marginal import (  # noqa: E402
    COARSE_TOP,
    COMPRESS_SIGMAS,
    NOISE_PENALTY,
    ONE_WAY_SHARE,
    SELECT_SHARE,
)
from privacy.synthetic.model import SHRINK  # noqa: E402
from schemas.ctdc_form import from_ctdc  # noqa: E402

CTDC = (ROOT.parent / "shared" / "data" / "ctdc"
        / "ctdc_global_kanon_2018_individual_database.csv.gz")
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Synthetic data (bench/synth.py)"
# The 2018 file covers 2002-2017; the schema's first year keeps every row in the domain.
YEAR_MIN = 2000
METHODS = ("marginal", "pac-synth")
# Findings from development runs (same data and columns; not re-measured by this script).
NOTES = (
    "- Times come from a 2-core machine shared with other jobs (load average about 3), so "
    "they are inflated. pac-synth used one core here.",
    "- pac-synth input: a missing value is an empty cell, pac-synth's own \"absent\" "
    "convention and the one CTDC's files use. Encoding missing as a counted value instead "
    "gave TVD 0.137 / 0.229 / 0.310 at ε = 1 and 0.092 / 0.174 / 0.252 at ε = 4 in one "
    "development run each (1-, 2-, 3-way). That is worse for 1- and 2-way marginals and "
    "somewhat better for 3-way. Our ratios stay ≤ 0.22 against either encoding.",
    "- Ablations of ours (ε = 1 / ε = 4, mean of 2 runs, current settings otherwise). A "
    "tree only (`max_way=2`) gave 2-way TVD 0.052 / 0.046 and 3-way 0.111 / 0.102. AIM's "
    "full noise penalty (1 instead of 0.05) gave 2-way 0.043 / 0.031 and 3-way 0.088 / "
    "0.065. Before raking to the margins, 1-way TVD was 0.011 / 0.007 instead of 0.004 / "
    "0.001. Noise-free measurements set a floor for the model. The 3-way network's floor "
    "is 0.014 (2-way) and 0.033 (3-way). A tree's floor is 0.043 and 0.097.",
    "- The published utility report estimates each measured marginal's error from the noisy "
    "counts alone. At ε = 1 its mean was 0.034 TVD over the network marginals. The synthetic "
    "rows showed 0.048 on the same marginals, since the model adds its own error.",
)


@dataclass(frozen=True)
class Run:
    method: str
    epsilon: float
    errors: tuple[float, float, float]  # mean TVD of 1-, 2-, 3-way marginals
    seconds: float
    rows: int
    reps: int


def load_ctdc() -> pd.DataFrame:
    return from_ctdc(pd.read_csv(CTDC, dtype=str, keep_default_na=False))


def mean_tvd(real: npt.NDArray[np.int64], synth: npt.NDArray[np.int64],
             sizes: tuple[int, ...], k: int) -> float:
    """Mean TVD over every k-way marginal (cells are the full public domain)."""
    out = []
    for combo in itertools.combinations(range(real.shape[1]), k):
        a = np.zeros(len(real), dtype=np.int64)
        b = np.zeros(len(synth), dtype=np.int64)
        for c in combo:
            a = a * sizes[c] + real[:, c]
            b = b * sizes[c] + synth[:, c]
        ca, cb = np.bincount(a), np.bincount(b)
        m = max(len(ca), len(cb))
        pa = np.pad(ca, (0, m - len(ca))) / max(len(real), 1)
        pb = np.pad(cb, (0, m - len(cb))) / max(len(synth), 1)
        out.append(0.5 * float(np.abs(pa - pb).sum()))
    return float(np.mean(out))


def run(frame: pd.DataFrame, method: str, epsilon: float, delta: float, reps: int,
        dom: Domain) -> Run:
    real = encode(frame, dom)
    errors, seconds, rows = [], [], []
    for rep in range(reps):
        spec = SyntheticSpec(method=method, columns=dom.columns, epsilon=epsilon,  # type: ignore[arg-type]
                             delta=delta, year_min=YEAR_MIN)
        start = time.perf_counter()
        result = synthesize(frame, spec, seed=rep)
        seconds.append(time.perf_counter() - start)
        synth = encode(result.frame, dom)
        rows.append(len(synth))
        errors.append([mean_tvd(real, synth, dom.sizes, k) for k in (1, 2, 3)])
        e = errors[-1]
        print(f"  {method:9s} eps={epsilon:g} run {rep + 1}/{reps}: {seconds[-1]:6.1f} s, "
              f"{len(synth)} rows, TVD 1/2/3-way {e[0]:.4f} {e[1]:.4f} {e[2]:.4f}", flush=True)
    mean = np.mean(errors, axis=0)
    return Run(method, epsilon, (float(mean[0]), float(mean[1]), float(mean[2])),
               float(np.mean(seconds)), int(np.mean(rows)), reps)


def timing(frame: pd.DataFrame, method: str, epsilon: float, delta: float,
           columns: tuple[str, ...]) -> float:
    spec = SyntheticSpec(method=method, columns=columns, epsilon=epsilon,  # type: ignore[arg-type]
                         delta=delta, year_min=YEAR_MIN)
    start = time.perf_counter()
    synthesize(frame, spec, seed=0)
    seconds = time.perf_counter() - start
    print(f"  {method:9s} eps={epsilon:g} on {len(frame)} rows: {seconds:.1f} s", flush=True)
    return seconds


def report(runs: list[Run], big: dict[tuple[str, float], float], n: int, big_rows: int,
           delta: float, columns: tuple[str, ...]) -> str:
    by = {(r.method, r.epsilon): r for r in runs}
    epsilons = sorted({r.epsilon for r in runs})
    rho = {e: float(SyntheticSpec(epsilon=e, delta=delta).budget_rho()) for e in epsilons}
    lines = [
        HEADING,
        "",
        f"Run: `.venv/bin/python bench/synth.py --write`. Data: CTDC 2018 global dataset "
        f"({n:,} cases), {len(columns)} columns (the default `SyntheticSpec.columns`), years "
        f"from {YEAR_MIN}. δ = {delta:g} for both synthesizers. pac-synth 0.0.8 ran with "
        "reporting length 3, the rest at its defaults. Missing values were empty cells; "
        "recorded `False` flags were counted (`sensitive_zeros`). Our synthesizer used the "
        "rho whose (ε, δ) equals the target.",
        "",
        "Error is the mean total variation distance (TVD) over all k-way marginals of the "
        f"{len(columns)} columns. TVD is half the L1 distance between the real and synthetic "
        "normalised frequency tables, over the full public domains, with missing counted as "
        "a category. Equivalently, cells / 2 × the mean absolute error of the frequencies. "
        "There are "
        f"{len(columns)}, {len(columns) * (len(columns) - 1) // 2} and "
        f"{len(list(itertools.combinations(columns, 3)))} marginals of each order. "
        "Each error is the mean of the runs shown. The ratio is ours ÷ pac-synth at equal ε. "
        "The target is ≤ 0.5 for 2- and 3-way marginals.",
        "",
        "| ε | ρ (ours) | method | runs | 1-way TVD | 2-way TVD | 3-way TVD | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in epsilons:
        for m in METHODS:
            r = by.get((m, e))
            if r is None:
                continue
            lines.append(f"| {e:g} | {rho[e]:.4f} | {m} | {r.reps} | {r.errors[0]:.4f} | "
                         f"{r.errors[1]:.4f} | {r.errors[2]:.4f} | {r.seconds:.1f} s |")
        ours, base = by.get(("marginal", e)), by.get(("pac-synth", e))
        if ours and base:
            ratios = [o / b if b else float("nan")
                      for o, b in zip(ours.errors, base.errors, strict=True)]
            lines.append(f"| {e:g} | | **ratio** | | {ratios[0]:.2f} | **{ratios[1]:.2f}** | "
                         f"**{ratios[2]:.2f}** | {ours.seconds / base.seconds:.2f}× |")
    lines += ["", f"Time on {big_rows:,} rows (CTDC resampled with a seed; one run each):", "",
              "| method | ε | time |", "|---|---|---|"]
    for (m, e), s in sorted(big.items()):
        lines.append(f"| {m} | {e:g} | {s:.1f} s |")
    lines += ["", _verdict(by, epsilons, big), "", *NOTES, ""]
    lines += [
        f"Settings of ours: 1-way share {ONE_WAY_SHARE}, selection share {SELECT_SHARE}, "
        f"compression at {COMPRESS_SIGMAS:g}σ, coarse parent views top {list(COARSE_TOP)}, "
        f"noise penalty {NOISE_PENALTY:g}, shrinkage {SHRINK:g}, max marginal 3-way.",
        "",
    ]
    return "\n".join(lines)


def _verdict(by: dict[tuple[str, float], Run], epsilons: list[float],
             big: dict[tuple[str, float], float]) -> str:
    """The default the figures justify, stated from the figures."""
    ratios = []
    for e in epsilons:
        ours, base = by.get(("marginal", e)), by.get(("pac-synth", e))
        if ours and base:
            ratios += [ours.errors[1] / base.errors[1], ours.errors[2] / base.errors[2]]
    slowest = max((s for (m, _), s in big.items() if m == "marginal"), default=float("nan"))
    if not ratios:
        return "No pac-synth figures in this run: no default chosen from it."
    met = max(ratios) <= 0.5 and slowest < 120
    return (f"**Default: `method=\"{'marginal' if max(ratios) < 1 else 'pac-synth'}\"`.** "
            f"Our 2- and 3-way errors are {min(ratios):.2f}–{max(ratios):.2f}× pac-synth's "
            f"at equal ε (target ≤ 0.5: {'met' if met else 'NOT met'}), and our synthesizer "
            f"takes at most {slowest:.1f} s on the big frame (target < 120 s).")


def write(section: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--delta", type=float, default=1e-6)
    parser.add_argument("--reps", type=int, default=3, help="runs of our synthesizer per ε")
    parser.add_argument("--pac-reps", type=int, default=1, help="runs of pac-synth per ε")
    parser.add_argument("--big-rows", type=int, default=200_000)
    parser.add_argument("--pac-big-epsilons", type=float, nargs="*", default=[1.0],
                        help="ε at which pac-synth is also timed on the big frame (slow)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the resampling")
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = parser.parse_args()

    frame = load_ctdc()
    columns = DEFAULT_COLUMNS
    dom = Domain.of(columns, YEAR_MIN)
    print(f"CTDC: {len(frame)} cases, {len(columns)} columns", flush=True)
    runs = []
    for epsilon in args.epsilons:
        for method in METHODS:
            reps = args.reps if method == "marginal" else args.pac_reps
            runs.append(run(frame, method, epsilon, args.delta, reps, dom))
    big_frame = frame.sample(n=args.big_rows, replace=True, random_state=args.seed)
    big_frame = big_frame.reset_index(drop=True)
    big = {}
    for epsilon in args.epsilons:
        big["marginal", epsilon] = timing(big_frame, "marginal", epsilon, args.delta, columns)
    for epsilon in args.pac_big_epsilons:
        big["pac-synth", epsilon] = timing(big_frame, "pac-synth", epsilon, args.delta, columns)
    section = report(runs, big, len(frame), args.big_rows, args.delta, columns)
    print("\n" + section)
    if args.write:
        write(section)


if __name__ == "__main__":
    main()
