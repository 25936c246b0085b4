"""One interface over both synthesizers: measure (private, CSPRNG), generate (public, seeded)."""

from __future__ import annotations

from fractions import Fraction

import pandas as pd

from privacy.errors import SpecInvalid
from privacy.mechanisms import epsilon_of
from privacy.synthetic import model, pac_synth
from privacy.synthetic.marginal import Measurements, measure
from privacy.synthetic.result import SyntheticResult
from privacy.synthetic.spec import SyntheticSpec
from privacy.synthetic.utility import marginal_utility

__all__ = ["generate", "measure", "result_of", "synthesize"]

# DP noise must come from a cryptographically secure generator, so it is never seeded: the
# marginal synthesizer draws all of it in ``measure`` through OpenDP. ``generate`` only
# post-processes those measurements with a seeded generator, so the same measurements and
# seed give the same rows: that is what "the same seed reproduces it" means here.


def _check(meas: Measurements, spec: SyntheticSpec) -> None:
    if spec.method != "marginal":
        raise SpecInvalid("measurements come from the marginal synthesizer; "
                          f"the spec asks for {spec.method!r}")
    if meas.domain.columns != spec.columns:
        raise SpecInvalid("the measurements were taken for other columns than the spec's")


def generate(measurements: Measurements, spec: SyntheticSpec, *, seed: int) -> pd.DataFrame:
    """Synthetic rows (internal form) from DP measurements; deterministic in ``seed``."""
    _check(measurements, spec)
    return model.generate(measurements, spec.rows, seed)


def result_of(measurements: Measurements, spec: SyntheticSpec, *, seed: int) -> SyntheticResult:
    """Rows, spends and the DP-only utility report, from the measurements."""
    frame = generate(measurements, spec, seed=seed)
    rho = sum((s.rho for s in measurements.spends if s.rho is not None), Fraction(0))
    return SyntheticResult(
        frame=frame,
        spends=list(measurements.spends),
        utility=marginal_utility(measurements, len(frame)),
        method="marginal",
        params={"synthesizer": "ctcollab marginal (Bayesian network over noisy 2-/3-way "
                               "marginals, OpenDP discrete Gaussian and noisy max)",
                "columns": list(spec.columns), "rho": str(rho), "delta": spec.delta,
                "epsilon": epsilon_of(float(rho), spec.delta), "rows": len(frame),
                "year_min": spec.year_min, "seed": seed, **measurements.params},
    )


def synthesize(frame: pd.DataFrame, spec: SyntheticSpec, *, seed: int) -> SyntheticResult:
    """DP synthetic rows from an internal-form snapshot, by the spec's method.

    ``seed`` drives only the post-processing; all noise is drawn by the synthesizer's own
    secure generator (OpenDP's for the marginal method; pac-synth's own, unseedable).
    """
    if spec.method == "pac-synth":
        return pac_synth.synthesize(frame, spec, seed=seed)
    return result_of(measure(frame, spec), spec, seed=seed)
