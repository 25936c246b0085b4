"""The pac-synth baseline (Microsoft's Synthetic Data Showcase, as CTDC uses it), our interface."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from privacy.synthetic.domain import Domain, decode, encode
from privacy.synthetic.errors import SynthesizerFailed, SynthesizerUnavailable
from privacy.synthetic.result import PRODUCT, SyntheticResult, SyntheticSpend
from privacy.synthetic.spec import SyntheticSpec
from schemas.definition import SCHEMA
from schemas.errors import InternalError

# pac-synth is (epsilon, delta)-DP: it counts every combination of up to REPORTING_LENGTH
# attribute values, adds Gaussian noise, drops counts below a noise threshold (that is what
# delta pays for: the values it reports are found in the data, not taken from a public list)
# and synthesizes rows from the surviving counts. It takes no seed, so its rows are not
# reproducible (a seeded release refuses it); only our marginal synthesizer has a seeded
# ``generate``. Its spend is (epsilon, delta) only, which the ledger composes with zCDP spends.
REPORTING_LENGTH = 3  # pac-synth's default: combinations of up to 3 values, as CTDC runs it
# pac-synth does not count empty cells as attribute values and leaves an attribute empty when
# its counts cannot support one; both are what "missing" means in the common schema.
EMPTY = ""


def _tokens(values: tuple[object, ...]) -> list[str]:
    """The strings pac-synth sees for a public domain (its last value, None, is empty)."""
    out = []
    for v in values[:-1]:
        out.append("1" if v is True else "0" if v is False else str(v))
    return [*out, EMPTY]


def _load() -> Any:
    try:
        import pacsynth
    except ImportError as err:
        raise SynthesizerUnavailable(
            "the pac-synth synthesizer is not installed",
            hint="install pac-synth==0.0.8, or use method 'marginal'") from err
    return pacsynth


def synthesize(frame: pd.DataFrame, spec: SyntheticSpec, *, seed: int) -> SyntheticResult:
    """Fit pac-synth's DP aggregates at the spec's (epsilon, delta) and sample rows from them."""
    ps = _load()
    dom = Domain.of(spec.columns, spec.year_min)
    x = encode(frame, dom)
    tokens = [_tokens(v) for v in dom.values]
    strings = pd.DataFrame({name: np.array(tokens[j], dtype=object)[x[:, j]]
                            for j, name in enumerate(dom.columns)})
    epsilon = spec.budget_epsilon()
    # "0" is pac-synth's other non-value; a recorded False is information, so count it.
    flags = [c for c in dom.columns if SCHEMA.field(c).type == "flag"]
    dataset = ps.Dataset.from_data_frame(strings, sensitive_zeros=flags)
    params = (ps.DpAggregateSeededParametersBuilder()
              .reporting_length(REPORTING_LENGTH).epsilon(epsilon).delta(spec.delta)
              .empty_value(EMPTY).build())
    synthesizer = ps.DpAggregateSeededSynthesizer(params)
    try:
        synthesizer.fit(dataset)
    except BaseException as err:
        # pac-synth panics (pyo3's PanicException, a BaseException) when its noisy number of
        # records comes out negative: on small snapshots at small epsilon. Stop the release
        # with a reason instead of a crash; what triggered it is a DP output, safe to state.
        if type(err).__name__ != "PanicException":
            raise
        raise SynthesizerFailed(
            "pac-synth failed on this snapshot (its noisy number of records was negative)",
            hint="too few cases for pac-synth at this epsilon: raise epsilon, or use the "
                 "marginal synthesizer") from None
    n_protected = int(synthesizer.get_dp_number_of_records())
    rows = spec.rows if spec.rows is not None else max(n_protected, 0)
    raw = synthesizer.sample(rows) if rows > 0 else [list(dom.columns)]
    out = ps.Dataset.raw_data_to_data_frame(raw)
    codes = np.empty((len(out), len(dom.columns)), dtype=np.int64)
    for j, name in enumerate(dom.columns):
        lookup = {t: i for i, t in enumerate(tokens[j])}
        mapped = out[name].astype(str).map(lookup) if len(out) else pd.Series([], dtype=float)
        if mapped.isna().any():
            raise InternalError(f"pac-synth returned a value outside the domain of {name!r}")
        codes[:, j] = mapped.to_numpy(dtype=np.int64)
    # pac-synth's row order follows its sampling; shuffle so order carries nothing.
    codes = codes[np.random.default_rng(seed).permutation(len(codes))]
    aggregates = synthesizer.get_dp_aggregates(";")
    by_length: dict[int, int] = {}
    for combination in aggregates:
        k = combination.count(";") + 1
        by_length[k] = by_length.get(k, 0) + 1
    utility = {
        "method": "pac-synth",
        "n_estimate": n_protected,
        "rows": rows,
        "reporting_length": REPORTING_LENGTH,
        "marginals": [{"kind": f"{k}-way", "columns": "all combinations",
                       "reported_combinations": by_length[k]} for k in sorted(by_length)],
        "expected_error": "not reported: pac-synth does not expose its noise scales",
    }
    spend = SyntheticSpend(PRODUCT, "pac-synth aggregates", None, epsilon, spec.delta)
    return SyntheticResult(
        frame=decode(codes, dom), spends=[spend], utility=utility, method="pac-synth",
        params={"synthesizer": "pac-synth 0.0.8 (DpAggregateSeededSynthesizer)",
                "columns": list(spec.columns), "epsilon": epsilon, "delta": spec.delta,
                "rho": None, "reporting_length": REPORTING_LENGTH, "rows": rows,
                "year_min": spec.year_min, "seed": seed})
