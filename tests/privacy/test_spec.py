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
