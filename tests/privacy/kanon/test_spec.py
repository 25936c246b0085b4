"""KAnonSpec: CTDC's defaults, and names checked against the common schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from privacy.kanon.spec import KAnonSpec
from schemas.definition import SCHEMA


def test_defaults_follow_ctdc_and_the_schema() -> None:
    spec = KAnonSpec()
    assert spec.k == 11
    assert spec.quasi_identifiers == SCHEMA.quasi_identifiers
    assert set(spec.quasi_identifiers) == {"gender", "age_broad", "majority_status",
                                           "citizenship", "country_of_exploitation",
                                           "year_of_registration"}
    assert spec.max_suppression == 0.05
    assert spec.sensitive == ("is_forced_labour", "is_sexual_exploit")
    assert spec.loss_metric == "ncp"
    assert spec.published_fields == tuple(f.name for f in SCHEMA.case_fields)


def test_published_fields_are_the_qis_and_columns_in_schema_order() -> None:
    spec = KAnonSpec(quasi_identifiers=("gender", "year_of_registration"),
                     columns=("is_forced_labour", "data_source"), sensitive=("is_forced_labour",))
    assert spec.published_fields == ("year_of_registration", "data_source", "gender",
                                     "is_forced_labour")


@pytest.mark.parametrize(("changes", "message"), [
    ({"k": 1}, "greater than or equal to 2"),
    ({"max_suppression": 1.0}, "less than 1"),
    ({"max_suppression": -0.1}, "greater than or equal to 0"),
    ({"quasi_identifiers": ()}, "at least 1"),
    ({"quasi_identifiers": ("gender", "shoe_size")}, "'shoe_size' is not a case field"),
    ({"quasi_identifiers": ("gender", "case_key")}, "'case_key' is not a case field"),
    ({"quasi_identifiers": ("gender", "gender")}, "listed twice"),
    ({"quasi_identifiers": ("meansOfControlConcatenated",)}, "not a case field"),
    ({"sensitive": ("org_id",)}, "'org_id' is not a case field"),
    ({"sensitive": ("gender",)}, "both quasi-identifier and sensitive"),
    ({"columns": ("case_key",)}, "'case_key' is not a case field"),
    ({"columns": ("gender",), "sensitive": ()}, "always published"),
    ({"columns": ("data_source",)}, "'is_forced_labour' is not a published column"),
    ({"loss_metric": "entropy"}, "ncp"),
    ({"epsilon": 1.0}, "Extra inputs are not permitted"),
])
def test_invalid_specs_say_what_is_wrong(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KAnonSpec.model_validate(changes)


def test_the_spec_is_frozen() -> None:
    spec = KAnonSpec()
    with pytest.raises(ValidationError):
        spec.k = 2  # type: ignore[misc]


def test_a_spec_round_trips_through_yaml_like_data() -> None:
    data = {"k": 5, "quasi_identifiers": ["gender", "age_broad"], "loss_metric": "discernibility",
            "max_suppression": 0.02, "sensitive": ["is_forced_labour"]}
    spec = KAnonSpec.model_validate(data)
    assert spec.quasi_identifiers == ("gender", "age_broad")
    assert KAnonSpec.model_validate(spec.model_dump()) == spec
