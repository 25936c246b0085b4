"""Release specs: validated before any data is read, errors naming where."""

from __future__ import annotations

import pytest

from privacy.errors import SpecInvalid
from privacy.spec import DEFAULT_SPEC, load_spec, parse_spec

SPEC = """
dp_tables:
  rho: 0.5
  tables:
    - {name: by_gender, title: By gender, dimensions: [gender]}
    - {name: %s, title: By age, dimensions: [age_broad]}
"""


def test_the_default_spec_is_valid_and_has_unique_table_names() -> None:
    spec = load_spec(DEFAULT_SPEC)
    names = [t.name for t in spec.dp_tables.tables]
    assert len(names) == len(set(names)) >= 3


def test_two_tables_of_one_name_are_refused() -> None:
    assert [t.name for t in parse_spec(SPEC % "by_age").dp_tables.tables] == [
        "by_gender", "by_age"]
    with pytest.raises(SpecInvalid) as err:
        parse_spec(SPEC % "by_gender", "release.yaml")
    assert "release.yaml: dp_tables.tables" in str(err.value)
    assert "by_gender repeated" in str(err.value)


@pytest.mark.parametrize("dimension", ["case_key", "org_id", "not_a_field"])
def test_only_fields_with_a_public_domain_can_be_tabulated(dimension: str) -> None:
    with pytest.raises(SpecInvalid) as err:
        parse_spec(SPEC.replace("[age_broad]", f"[{dimension}]") % "by_age")
    assert "public domain" in str(err.value)


def test_pac_synth_fits_the_default_caps_without_a_delta_of_its_own() -> None:
    from ctcollab.settings import Settings
    from privacy.ledger import Cap

    spec = parse_spec(SPEC % "by_age" + """
synthetic:
  method: pac-synth
  epsilon: 4.0
""")
    assert spec.synthetic is not None and spec.synthetic.delta == 1e-7
    defaults = Settings()
    cap = Cap.of(defaults.budget_rho_cap, defaults.budget_delta_cap,
                 defaults.budget_epsilon_cap)
    planned = spec.planned()
    assert planned.approx_delta < cap.delta and planned.epsilon(cap.delta) <= cap.epsilon
    # The marginal synthesizer keeps its reporting delta; an explicit delta is kept.
    assert parse_spec(SPEC % "by_age" + "synthetic: {method: marginal, rho: 0.5}\n"
                      ).synthetic.delta == 1e-6  # type: ignore[union-attr]
    assert parse_spec(SPEC % "by_age" + "synthetic: {method: pac-synth, epsilon: 4.0, "
                      "delta: 1.0e-8}\n").synthetic.delta == 1e-8  # type: ignore[union-attr]
