"""Internal-form frames for the synthesizer tests: known structure, public vocabularies only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype

COLUMNS = ("year_of_registration", "gender", "age_broad", "citizenship",
           "country_of_exploitation", "is_sexual_exploit", "is_forced_labour", "is_abduction")


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Cases whose gender drives sexual exploitation (and that, forced labour); the rest is
    independent. Includes missing values, and years before 2015 (outside the default domain)."""
    rng = np.random.default_rng(seed)

    def pick(values: list[object], p: list[float] | None = None) -> np.ndarray:
        return np.array(values, dtype=object)[rng.choice(len(values), n, p=p)]

    gender = pick(["female", "male", "unknown", None], [0.6, 0.3, 0.05, 0.05])
    female = gender == "female"
    p_sex = np.where(female, 0.9, 0.1)
    sex = rng.random(n) < p_sex
    labour = np.where(sex, rng.random(n) < 0.05, rng.random(n) < 0.8)
    frame = pd.DataFrame({
        "year_of_registration": pick([2012, 2016, 2018, 2020, 2022, None],
                                     [0.05, 0.3, 0.3, 0.2, 0.1, 0.05]),
        "gender": gender,
        "age_broad": pick(["9-17", "18-20", "30-38", "unknown", None]),
        "citizenship": pick(["PHL", "UKR", "MDA", "NGA", None], [0.4, 0.3, 0.2, 0.05, 0.05]),
        "country_of_exploitation": pick(["USA", "RUS", "LBY", None]),
        "is_sexual_exploit": np.where(rng.random(n) < 0.03, np.array(None), sex.astype(object)),
        "is_forced_labour": labour,
        "is_abduction": pick([True, False, None], [0.01, 0.5, 0.49]),
    })
    return frame.astype({c: pandas_dtype(SCHEMA.field(c)) for c in COLUMNS})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def frame_20k() -> pd.DataFrame:
    return make_frame(20_000, seed=7)
