"""A seeded release's synthetic rows: reproducible from the seed, charged like OpenDP's."""

from __future__ import annotations

import pandas as pd
import pytest

from privacy.errors import SpecInvalid
from privacy.noise import SeededNoise
from privacy.synthetic import SyntheticSpec, synthesize
from tests.privacy.synthetic.conftest import COLUMNS

SEED = "7e2a9c41b05d83f6a1c9e07d42b8f365"


def _noise(snapshot: str = "snap") -> SeededNoise:
    return SeededNoise.from_seed(SEED, snapshot).derive("dp-synthetic")


def test_the_same_seed_reproduces_measurements_and_rows(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.2)
    post = _noise().post_processing_seed("rows")
    first = synthesize(frame_20k, spec, seed=post, noise=_noise())
    again = synthesize(frame_20k, spec, seed=post, noise=_noise())
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert first.utility == again.utility and first.params["noise"] == "seeded"
    other = synthesize(frame_20k, spec, seed=post, noise=_noise("another snapshot"))
    assert not first.frame.equals(other.frame)
    # Same items, same rho, same epsilon as with OpenDP's noise: the same charge.
    csprng = synthesize(frame_20k, spec, seed=post)
    assert first.spends == csprng.spends and csprng.params["noise"] == "opendp-csprng"


def test_pac_synth_cannot_be_seeded(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(method="pac-synth", columns=COLUMNS, epsilon=1.0, delta=1e-7)
    with pytest.raises(SpecInvalid):
        synthesize(frame_20k, spec, seed=0, noise=_noise())
