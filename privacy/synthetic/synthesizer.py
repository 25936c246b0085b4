"""One interface over both synthesizers: measure (private, CSPRNG), generate (public, seeded)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pandas as pd

from privacy.errors import SpecInvalid
from privacy.mechanisms import epsilon_of
from privacy.noise import OPENDP, NoiseSource
from privacy.synthetic import model, pac_synth
from privacy.synthetic.marginal import Measurements, measure
from privacy.synthetic.result import SyntheticResult
from privacy.synthetic.spec import SyntheticSpec
from privacy.synthetic.utility import marginal_utility

__all__ = ["generate", "measure", "result_of", "synthesize"]

# DP noise must come from a cryptographically secure generator: the marginal synthesizer
# draws all of it in ``measure``, through OpenDP, or in a seeded release through
# privacy.noise's keyed sampler (SHAKE-256 keyed by a secret seed). ``generate`` only
# post-processes those measurements with a seeded generator, so the same measurements and
# seed give the same rows; a seeded release derives that seed from its own, so the same
# release seed on the same snapshot and spec reproduces the rows exactly.

PAC_SYNTH_UNSEEDABLE = ("pac-synth draws its noise from its own generator, which cannot be "
                        "seeded: a seeded release cannot reproduce it (use the marginal "
                        "synthesizer, or release without a seed)")


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


def synthesize(frame: pd.DataFrame, spec: SyntheticSpec, *, seed: int,
               noise: NoiseSource = OPENDP) -> SyntheticResult:
    """DP synthetic rows from an internal-form snapshot, by the spec's method.

    ``seed`` drives only the post-processing; all noise is drawn by ``noise`` (OpenDP's
    CSPRNG by default, or a release's seeded source) for the marginal method, and by
    pac-synth's own unseedable generator for pac-synth, which a seeded release refuses.
    """
    if spec.method == "pac-synth":
        if noise.kind != OPENDP.kind:
            raise SpecInvalid(PAC_SYNTH_UNSEEDABLE)
        return pac_synth.synthesize(frame, spec, seed=seed)
    result = result_of(measure(frame, spec, noise=noise), spec, seed=seed)
    return replace(result, params={**result.params, "noise": noise.kind})
