"""Coding over public domains: missing is a category, years outside the domain are dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privacy.errors import SpecInvalid
from privacy.synthetic.domain import Domain, decode, encode
from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype
from tests.privacy.synthetic.conftest import COLUMNS, make_frame


def test_domains_come_from_vocabularies_with_missing_last() -> None:
    dom = Domain.of(("gender", "is_abduction", "year_of_registration"), 2015)
    assert dom.values[0] == (*SCHEMA.vocabularies["gender"].codes, None)
    assert dom.values[1] == (True, False, None)
    assert dom.values[2][0] == 2015 and dom.values[2][-1] is None


def test_round_trip_keeps_values_and_dtypes() -> None:
    frame = make_frame(500, seed=1)
    dom = Domain.of(COLUMNS, 2000)
    back = decode(encode(frame, dom), dom)
    pd.testing.assert_frame_equal(back, frame[list(COLUMNS)].reset_index(drop=True))
    for c in COLUMNS:
        assert back[c].dtype == pandas_dtype(SCHEMA.field(c))


def test_years_before_the_domain_drop_the_row_and_missing_is_kept() -> None:
    frame = make_frame(2_000, seed=2)
    dom = Domain.of(COLUMNS, 2015)
    codes = encode(frame, dom)
    years = frame["year_of_registration"]
    assert len(codes) == int((years.isna() | (years >= 2015)).sum())
    none = dom.sizes[0] - 1
    assert (codes[:, 0] == none).sum() == int(years.isna().sum())


def test_values_outside_the_vocabulary_are_refused_without_echoing_them() -> None:
    frame = pd.DataFrame({"gender": pd.Series(["female", "Zorglub"], dtype="object")})
    with pytest.raises(SpecInvalid) as err:
        encode(frame, Domain.of(("gender",), 2015))
    assert "Zorglub" not in str(err.value)


def test_missing_column_is_named() -> None:
    with pytest.raises(SpecInvalid, match="gender"):
        encode(pd.DataFrame({"age_broad": []}), Domain.of(("gender",), 2015))


def test_codes_are_within_each_domain() -> None:
    dom = Domain.of(COLUMNS, 2015)
    codes = encode(make_frame(1_000, seed=3), dom)
    assert codes.dtype == np.int64
    assert ((codes >= 0) & (codes < np.array(dom.sizes))).all()
