"""Generalisation hierarchies: derived from the vocabularies, nested, and right on known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.kanon.errors import OutsideDomain
from privacy.kanon.hierarchies import (
    MISSING,
    SUPPRESSED,
    Hierarchy,
    hierarchy_for,
    hierarchy_problem,
    year_hierarchy,
)
from schemas.definition import SCHEMA
from schemas.errors import SchemaDefinitionError

YEARS = (2000, 2024)
GENERALISABLE = [f.name for f in SCHEMA.case_fields]


@pytest.mark.parametrize("field", GENERALISABLE)
def test_every_case_field_has_a_valid_nested_hierarchy(field: str) -> None:
    h = hierarchy_for(field, years=YEARS)
    assert hierarchy_problem(h) is None
    # Nested: each level is a function of the level below.
    for level in range(1, h.top + 1):
        parent: dict[str, str] = {}
        for below, above in zip(h.labels[level - 1], h.labels[level], strict=True):
            assert parent.setdefault(below, above) == above
    assert set(h.labels[h.top]) == {SUPPRESSED}
    assert len(set(h.labels[0])) == len(h.keys)


@pytest.mark.parametrize("field", [f for f in GENERALISABLE if SCHEMA.field(f).vocabulary])
def test_the_domain_is_the_vocabulary_plus_missing(field: str) -> None:
    vocab = SCHEMA.vocabulary_of(SCHEMA.field(field))
    h = hierarchy_for(field, years=YEARS)
    assert h.keys == (*vocab.codes, MISSING)
    assert h.labels[0] == (*(v.label for v in vocab.values), MISSING)


@pytest.mark.parametrize("field", SCHEMA.quasi_identifiers)
def test_unknown_and_missing_stay_themselves_until_the_top(field: str) -> None:
    h = hierarchy_for(field, years=YEARS)
    for key in [k for k in h.keys if k in ("unknown", MISSING)]:
        for level in range(h.top):
            assert h.label(key, level) == h.label(key, 0)
        assert h.label(key, h.top) == SUPPRESSED
    # Nothing else is generalised into them.
    for level in range(h.top):
        for key, label in h.mapping(level).items():
            if key not in ("unknown", MISSING):
                assert label not in ("Unknown", MISSING)


def test_country_rolls_up_to_m49_subregion_then_region() -> None:
    h = hierarchy_for("country_of_exploitation", years=YEARS)
    assert [h.label("LBY", lv) for lv in range(4)] == ["LY", "Northern Africa", "Africa", "*"]
    assert [h.label("NER", lv) for lv in range(4)] == ["NE", "Western Africa", "Africa", "*"]
    assert [h.label("UKR", lv) for lv in range(4)] == ["UA", "Eastern Europe", "Europe", "*"]
    assert h.label("PHL", 1) == "South-eastern Asia"
    assert h.label("USA", 2) == "Americas"
    assert h.level_names == ("country", "UN M49 sub-region", "UN M49 region", "suppressed")
    # Every sub-region lies in exactly one region.
    regions: dict[str, str] = {}
    for sub, reg in zip(h.labels[1], h.labels[2], strict=True):
        assert regions.setdefault(sub, reg) == reg


def test_age_band_rolls_up_to_broad_bands_then_majority() -> None:
    h = hierarchy_for("age_broad", years=YEARS)
    expected = {
        "0-8": ["0--8", "0--17", "Minor"], "9-17": ["9--17", "0--17", "Minor"],
        "18-20": ["18--20", "18--29", "Adult"], "27-29": ["27--29", "18--29", "Adult"],
        "30-38": ["30--38", "30--47", "Adult"], "39-47": ["39--47", "30--47", "Adult"],
        "48+": ["48+", "48+", "Adult"], "unknown": ["Unknown", "Unknown", "Unknown"],
        MISSING: [MISSING, MISSING, MISSING],
    }
    for key, labels in expected.items():
        assert [h.label(key, lv) for lv in range(3)] == labels
        assert h.label(key, 3) == SUPPRESSED
    assert h.categories(2) == ("Minor", "Adult", "Unknown")


def test_majority_gender_and_flags_have_two_levels() -> None:
    for field in ("majority_status", "gender"):
        h = hierarchy_for(field, years=YEARS)
        assert h.top == 1 and set(h.labels[1]) == {SUPPRESSED}
    flag = hierarchy_for("is_forced_labour", years=YEARS)
    assert flag.mapping(0) == {"true": "1", "false": "0", MISSING: MISSING}


@pytest.mark.parametrize(("year", "two", "five"), [
    (2015, "2015-2016", "2015-2019"), (2016, "2015-2016", "2015-2019"),
    (2017, "2017-2019", "2015-2019"), (2019, "2017-2019", "2015-2019"),
    (2020, "2020-2021", "2020-2024"), (2002, "2002-2004", "2000-2004"),
])
def test_years_roll_up_into_aligned_periods(year: int, two: str, five: str) -> None:
    h = hierarchy_for("year_of_registration", years=YEARS)
    assert [h.label(str(year), lv) for lv in range(4)] == [str(year), two, five, "*"]


@given(first=st.integers(1990, 2030), span=st.integers(0, 30))
def test_year_hierarchies_cover_whole_periods_and_nest(first: int, span: int) -> None:
    h = year_hierarchy("year_of_registration", first, first + span)
    assert hierarchy_problem(h) is None
    years = [int(k) for k in h.keys if k != MISSING]
    assert years == list(range(years[0], years[-1] + 1))
    assert years[0] % 5 == 0 and (years[-1] + 1) % 5 == 0
    assert years[0] <= first and years[-1] >= first + span
    for label in h.labels[2][:-1]:
        start, end = map(int, label.split("-"))
        assert end - start == 4 and start % 5 == 0


def test_ncp_is_zero_for_values_one_for_suppressed_and_grows_with_level() -> None:
    h = hierarchy_for("country_of_exploitation", years=YEARS)
    assert np.all(h.ncp(0) == 0) and np.all(h.ncp(h.top) == 1)
    for level in range(1, h.top + 1):
        assert np.all(h.ncp(level) >= h.ncp(level - 1))
    lby = h.keys.index("LBY")
    northern_africa = h.labels[1].count("Northern Africa")
    assert h.ncp(1)[lby] == pytest.approx((northern_africa - 1) / (len(h.keys) - 1))


@pytest.mark.parametrize(("labels", "problem"), [
    ((("A", "B", ""), ("G", "H", ""), ("G", "G", "")), "suppress"),
    ((("A", "B", ""), ("G", "G", ""), ("*", "*", "*")), None),
    ((("A", "A", ""), ("G", "G", ""), ("*", "*", "*")), "tell every value apart"),
    ((("A", "B", ""), ("G", "H", ""), ("*", "*")), "one label per key"),
])
def test_hierarchy_problems_are_found(labels: tuple[tuple[str, ...], ...],
                                      problem: str | None) -> None:
    names = ("v", "g", "s")
    if problem is None:
        assert hierarchy_problem(Hierarchy("x", names, ("a", "b", MISSING), labels)) is None
        return
    with pytest.raises(SchemaDefinitionError, match=problem):
        Hierarchy("x", names, ("a", "b", MISSING), labels)


def test_a_level_that_splits_a_group_is_not_a_function() -> None:
    # Level 1 joins a and b; level 2 splits them again: generalising would split classes.
    with pytest.raises(SchemaDefinitionError, match="not a function of level 1"):
        Hierarchy("x", ("v", "g", "h", "s"), ("a", "b", MISSING),
                  (("A", "B", ""), ("G", "G", ""), ("G", "H", ""), ("*", "*", "*")))


def test_key_codes_map_internal_columns_vectorised() -> None:
    h = hierarchy_for("country_of_exploitation", years=YEARS)
    dtype = pd.CategoricalDtype(list(SCHEMA.vocabularies["country"].codes))
    col = pd.Series(["LBY", None, "unknown", "LBY"], dtype=dtype)
    assert [h.keys[i] for i in h.key_codes(col)] == ["LBY", MISSING, "unknown", "LBY"]
    years = hierarchy_for("year_of_registration", years=YEARS)
    col = pd.Series([2016, None, 2001], dtype="Int16")
    assert [years.keys[i] for i in years.key_codes(col)] == ["2016", MISSING, "2001"]
    flag = hierarchy_for("is_forced_labour", years=YEARS)
    col = pd.Series([True, None, False], dtype="boolean")
    assert [flag.keys[i] for i in flag.key_codes(col)] == ["true", MISSING, "false"]


def test_a_value_outside_the_domain_is_refused_without_echoing_it() -> None:
    h = hierarchy_for("country_of_exploitation", years=YEARS)
    with pytest.raises(OutsideDomain) as caught:
        h.key_codes(pd.Series(["LBY", "Atlantis-7"], dtype=object))
    assert "Atlantis" not in str(caught.value)
