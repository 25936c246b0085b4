"""The pac-synth baseline behind the same interface: conforming rows, (epsilon, delta) only."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from privacy.synthetic import SyntheticSpec, synthesize
from privacy.synthetic.errors import SynthesizerUnavailable
from tests.privacy.synthetic.conftest import make_frame
from tests.privacy.synthetic.test_synthesizer import assert_conforms

NOT_INSTALLED = "pac-synth is not installed (pip install pac-synth==0.0.8)"
COLUMNS = ("year_of_registration", "gender", "citizenship", "is_sexual_exploit", "is_abduction")


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return make_frame(3_000, seed=5)


def test_pac_synth_output_conforms_and_spends_epsilon_delta(small: pd.DataFrame) -> None:
    pytest.importorskip("pacsynth", reason=NOT_INSTALLED)
    spec = SyntheticSpec(method="pac-synth", columns=COLUMNS, epsilon=2.0, delta=1e-6)
    result = synthesize(small, spec, seed=0)
    assert result.method == "pac-synth"
    assert_conforms(result.frame, COLUMNS, spec.year_min)
    assert len(result.frame) > 0
    [spend] = result.spends
    assert (spend.product, spend.rho, spend.epsilon, spend.delta) == (
        "dp-synthetic", None, 2.0, 1e-6)
    assert result.rho is None and result.privacy()["rho"] is None
    # Recorded False flags are values pac-synth keeps, not blanks.
    assert (result.frame["is_abduction"] == False).any()  # noqa: E712


def test_a_rho_budget_is_converted_for_pac_synth(small: pd.DataFrame) -> None:
    pytest.importorskip("pacsynth", reason=NOT_INSTALLED)
    spec = SyntheticSpec(method="pac-synth", columns=COLUMNS[:3], rho=0.5, rows=400)
    result = synthesize(small, spec, seed=0)
    assert len(result.frame) == 400
    assert result.spends[0].epsilon == spec.budget_epsilon()


def test_missing_pac_synth_is_a_configuration_error(small: pd.DataFrame,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pacsynth", None)  # makes "import pacsynth" fail
    spec = SyntheticSpec(method="pac-synth", columns=COLUMNS, epsilon=1.0)
    with pytest.raises(SynthesizerUnavailable, match="pac-synth"):
        synthesize(small, spec, seed=0)


def test_a_snapshot_too_small_for_pac_synth_is_a_clear_refusal() -> None:
    pytest.importorskip("pacsynth", reason=NOT_INSTALLED)
    from privacy.synthetic.errors import SynthesizerFailed

    # Its noisy number of records (0.5% of epsilon) is negative half of the time on 5 cases.
    spec = SyntheticSpec(method="pac-synth", columns=COLUMNS, epsilon=0.1, delta=1e-6)
    tiny = make_frame(5, seed=1)
    outcomes = set()
    for _ in range(40):
        try:
            synthesize(tiny, spec, seed=0)
            outcomes.add("ok")
        except SynthesizerFailed as err:
            outcomes.add("refused")
            assert "pac-synth" in str(err)
    assert "refused" in outcomes  # fails with probability 2^-40 if half are refused
