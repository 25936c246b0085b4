"""Verification with pycanon: missing values and index labels made safe, failures refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pycanon import anonymity

from privacy.kanon.errors import KAnonymityFailed
from privacy.kanon.verify import MISSING_TOKEN, explicit_missing, l_diversity, verify
from schemas.errors import PrivacyCheckFailed


def _with_a_missing_unique() -> pd.DataFrame:
    # Eleven identical women and one record whose only distinction is a missing country.
    return pd.DataFrame({
        "gender": ["Female"] * 12,
        "CountryOfExploitation": pd.Series(["LY"] * 11 + [pd.NA], dtype="string"),
        "isForcedLabour": pd.Series([1, 0] * 6, dtype="Int8"),
    })


def test_pycanon_alone_overlooks_a_record_unique_by_its_missing_value() -> None:
    # Why verify() converts first: pycanon's groupby drops rows with a missing key.
    frame = _with_a_missing_unique()
    assert anonymity.k_anonymity(frame, ["gender", "CountryOfExploitation"]) == 11
    prepared = explicit_missing(frame, ["gender", "CountryOfExploitation"])
    assert anonymity.k_anonymity(prepared, ["gender", "CountryOfExploitation"]) == 1
    assert prepared["CountryOfExploitation"].iloc[-1] == MISSING_TOKEN


def test_verify_refuses_the_frame_pycanon_alone_would_pass() -> None:
    with pytest.raises(KAnonymityFailed) as caught:
        verify(_with_a_missing_unique(), ["gender", "CountryOfExploitation"], 11)
    assert isinstance(caught.value, PrivacyCheckFailed)
    assert "has 1 records; k=11 is required" in str(caught.value)
    assert "LY" not in str(caught.value) and "Female" not in str(caught.value)


def test_verify_measures_k_and_l_on_a_passing_frame() -> None:
    frame = pd.DataFrame({
        "gender": ["Female"] * 12 + ["Male"] * 11,
        "country": pd.Series(["LY"] * 12 + [pd.NA] * 11, dtype="string"),
        "isForcedLabour": pd.Series([1, 0] * 6 + [1] * 10 + [pd.NA], dtype="Int8"),
        "isSexualExploit": pd.Series([1] * 23, dtype="Int8"),
    })
    checked = verify(frame, ["gender", "country"], 11, ["isForcedLabour", "isSexualExploit"])
    assert checked.k == 11 and checked.classes == 2
    # The men's class has 1 and missing: missing counts as a value of its own.
    assert checked.l_diversity == {"isForcedLabour": 2, "isSexualExploit": 1}


@pytest.mark.filterwarnings("ignore:In a future version, the keys of `groups`")
def test_verify_is_right_whatever_the_index() -> None:
    # pycanon looks index labels up as positions: on this reversed index it would read the
    # wrong rows and report l=1 although each class holds both values.
    frame = pd.DataFrame({
        "gender": ["Male", "Male"] + ["Female"] * 11,
        "s": ["1", "0"] + ["1", "0"] * 4 + ["1", "0", "0"],
    })
    frame = pd.concat([frame] * 6)
    frame.index = list(range(len(frame) - 1, -1, -1))
    assert anonymity.l_diversity(frame, ["gender"], ["s"]) == 1
    checked = verify(frame, ["gender"], 11, ["s"])
    assert checked.l_diversity == {"s": 2}
    assert checked.k == 12


def test_an_empty_frame_is_refused() -> None:
    with pytest.raises(KAnonymityFailed, match="no rows"):
        verify(pd.DataFrame({"gender": pd.Series([], dtype="string")}), ["gender"], 11)


@pytest.mark.filterwarnings("ignore:In a future version, the keys of `groups`")
@pytest.mark.parametrize("seed", range(5))
def test_l_diversity_on_distinct_rows_equals_pycanon_on_every_row(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 15 + 20 * seed  # small classes too, where l is 1 or 2
    frame = pd.DataFrame({
        "gender": rng.choice(["Female", "Male"], n),
        "age": rng.choice(["0--17", "18--29", "30--47"], n),
        "s": rng.choice(["1", "0", MISSING_TOKEN], n, p=[0.7, 0.2, 0.1]),
    })
    expected = anonymity.l_diversity(frame, ["gender", "age"], ["s"])
    assert l_diversity(frame, ["gender", "age"], "s") == expected
