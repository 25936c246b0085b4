"""Fit ctcollab/demo_params.json (derived shares only, no records) from CTDC's 2018 k-anon file.

Developer tool, run once from the repository root:

    python tools/fit_demo_params.py [--ctdc PATH] [--out ctcollab/demo_params.json]

The CTDC file stays in ../shared and is never copied into the repository; only marginal and
conditional shares computed from it are written, rounded, with every combination seen fewer
than MIN_COUNT times folded away so that no rare pattern of the source survives.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
# A developer may run this with a Python where the project is not installed; the repo root
# on sys.path is enough to import the schema package.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from schemas.definition import SCHEMA  # noqa: E402

DEFAULT_CTDC = REPO.parent / "shared/data/ctdc/ctdc_global_kanon_2018_individual_database.csv.gz"
DEFAULT_OUT = REPO / "ctcollab/demo_params.json"

# CTDC publishes with k = 11; a combination rarer than that in the source is not carried over.
MIN_COUNT = 11
DIGITS = 4
SOURCE_YEARS = (2002, 2017)
TARGET_YEARS = (2015, 2024)
# COMPASS year-one figures: 48% women, 47% men, 5% unknown. CTDC's 2018 file has only 0.5%
# Unknown, too few for a demo whose point is that "unknown" survives harmonisation.
COMPASS_UNKNOWN_GENDER = 0.05
DUPLICATE_SHARE = 0.03

# Partner shares of the total record count and their country mixes. CTDC's own countries
# (PH, MD, UA, US...) do not fit a COMPASS programme, so these weights are chosen by hand
# from the programme's partner countries and the central Mediterranean route; ISO alpha-3.
PARTNERS: dict[str, dict[str, Any]] = {
    "espoir-sahel": {
        "share": 0.35,
        "citizenship": {"NGA": 22, "NER": 14, "MLI": 12, "CIV": 10, "GIN": 9, "CMR": 8,
                        "SEN": 7, "TCD": 7, "SDN": 4, "BFA": 4, "GHA": 3},
        "country_of_exploitation": {"NER": 30, "LBY": 30, "DZA": 20, "MLI": 7, "TCD": 5,
                                    "TUN": 3, "MAR": 2, "ITA": 2, "FRA": 1},
    },
    "northbridge": {
        "share": 0.25,
        "citizenship": {"ERI": 20, "SDN": 16, "NGA": 14, "ETH": 12, "BGD": 10, "EGY": 8,
                        "CIV": 6, "GIN": 5, "MLI": 4, "AFG": 3, "SOM": 2},
        "country_of_exploitation": {"LBY": 55, "TUN": 9, "EGY": 8, "ITA": 9, "GBR": 6,
                                    "MLT": 4, "FRA": 4, "NER": 3, "SDN": 2},
    },
    "safe-passage": {
        "share": 0.25,
        "citizenship": {"CIV": 18, "GIN": 14, "CMR": 12, "NGA": 12, "SDN": 10, "MLI": 9,
                        "SEN": 8, "BGD": 6, "EGY": 5, "MAR": 3, "TCD": 3},
        "country_of_exploitation": {"TUN": 40, "LBY": 35, "DZA": 10, "MAR": 5, "ITA": 5,
                                    "ESP": 3, "FRA": 2},
    },
    "al-amal": {
        "share": 0.15,
        "citizenship": {"EGY": 22, "SDN": 20, "TCD": 12, "NER": 10, "NGA": 9, "ERI": 7,
                        "ETH": 6, "SYR": 5, "BGD": 5, "MAR": 2, "IRQ": 1, "AFG": 1},
        "country_of_exploitation": {"LBY": 70, "EGY": 8, "LBN": 6, "IRQ": 4, "SDN": 4,
                                    "TCD": 3, "TUN": 2, "DZA": 2, "NER": 1},
    },
}

NOTES = [
    "Derived parameters only: shares and rates computed from CTDC's k-anonymised global "
    "dataset (2018 download, years 2002-2017, k = 11); no record of it is stored here.",
    f"Combinations seen fewer than {MIN_COUNT} times in the source are dropped and the rest "
    "renormalised.",
    "year_of_registration: the 2002-2017 yearly shape is resampled by linear interpolation "
    "onto 2015-2024 (first year to first year, last to last).",
    "gender: CTDC's female/male ratio, with the Unknown share set to COMPASS's reported 5% "
    "(CTDC's own Unknown share, 0.5%, is kept under gender.ctdc for reference).",
    "Countries are NOT from CTDC: its top countries (PH, MD, UA, US) do not fit a COMPASS "
    "programme. partners.*.citizenship and partners.*.country_of_exploitation are "
    "hand-chosen weights over COMPASS partner countries and the central Mediterranean route, "
    "a few in Europe. Only the unknown/missing shares of the two country fields come from "
    "CTDC.",
    "exploitation_type.combinations with an empty list mean 'not recorded' (all flags empty "
    "or 0 in the source).",
    "Rates of multi-select flags are conditional on the group being recorded and specified; "
    "'missing' is the share with nothing recorded, 'not_specified' the share recorded as "
    "not specified.",
]


def _round(x: float) -> float:
    return round(float(x), DIGITS)


def _shares(counts: Mapping[str, int | float]) -> dict[str, float]:
    total = float(sum(counts.values()))
    return {k: _round(v / total) for k, v in counts.items()} if total else {}


def _is_one(series: pd.Series) -> pd.Series:
    return series.eq("1")


def _label_to_code(vocabulary: str) -> dict[str, str]:
    return SCHEMA.vocabularies[vocabulary].code_of_label()


def _flag_columns(vocabulary: str) -> dict[str, str]:
    """CTDC flag column -> vocabulary code, for the flags present in the 2018 file."""
    return {v.flag: v.code for v in SCHEMA.vocabularies[vocabulary].values
            if v.flag and not v.derived}


def fit_gender(d: pd.DataFrame) -> dict[str, Any]:
    codes = _label_to_code("gender")
    counts = d["gender"].map(codes).value_counts()
    ctdc = _shares({str(k): int(v) for k, v in counts.items()})
    known = ctdc["female"] + ctdc["male"]
    demo = {
        "female": _round((1 - COMPASS_UNKNOWN_GENDER) * ctdc["female"] / known),
        "male": _round((1 - COMPASS_UNKNOWN_GENDER) * ctdc["male"] / known),
        "unknown": COMPASS_UNKNOWN_GENDER,
    }
    return {"shares": demo, "ctdc": ctdc}


def fit_age(d: pd.DataFrame) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    bands = _label_to_code("age_band")
    majority = _label_to_code("majority_status")
    recorded = d[d["ageBroad"] != ""]
    counts = recorded["ageBroad"].map(bands).value_counts()
    age = {
        "missing": _round(1 - len(recorded) / len(d)),
        "shares": _shares({code: int(counts.get(code, 0))
                           for code in SCHEMA.vocabularies["age_band"].codes}),
    }
    given: dict[str, dict[str, float]] = {}
    for label, code in bands.items():
        sub = recorded.loc[recorded["ageBroad"] == label, "majorityStatus"].map(majority)
        sub_counts = {str(k): int(v) for k, v in sub.value_counts().items() if v >= MIN_COUNT}
        given[code] = _shares(sub_counts)
    return age, given


def fit_years(d: pd.DataFrame) -> dict[str, Any]:
    years = pd.to_numeric(d["yearOfRegistration"], errors="coerce").dropna().astype(int)
    lo, hi = SOURCE_YEARS
    source = np.array([(years == y).sum() for y in range(lo, hi + 1)], dtype=float)
    t_lo, t_hi = TARGET_YEARS
    # Sample the source curve at evenly spaced points so both ends line up.
    positions = np.linspace(0, hi - lo, t_hi - t_lo + 1)
    resampled = np.interp(positions, np.arange(hi - lo + 1), source)
    return {
        "source_range": list(SOURCE_YEARS),
        "shares": _shares({str(t_lo + i): float(v) for i, v in enumerate(resampled)}),
    }


def fit_data_source(d: pd.DataFrame) -> dict[str, float]:
    codes = _label_to_code("data_source")
    return _shares({str(k): int(v) for k, v in d["Datasource"].map(codes).value_counts().items()})


def _combinations(sets: Iterable[tuple[str, ...]]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, ...], int] = {}
    for s in sets:
        counts[s] = counts.get(s, 0) + 1
    kept = {k: v for k, v in counts.items() if v >= MIN_COUNT}
    total = sum(kept.values())
    return [{"values": list(k), "share": _round(v / total)}
            for k, v in sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))]


def fit_exploitation(d: pd.DataFrame) -> dict[str, Any]:
    flags = _flag_columns("exploitation_type")
    present = [c for c in flags if c in d.columns]
    ones = pd.DataFrame({flags[c]: _is_one(d[c]) for c in present})
    sets = (tuple(code for code in ones.columns if row[code]) for _, row in ones.iterrows())
    return {"combinations": _combinations(sets)}


def _group_rates(d: pd.DataFrame, vocabulary: str, not_specified: str | None) -> dict[str, Any]:
    flags = _flag_columns(vocabulary)
    columns = [c for c in flags if c in d.columns and flags[c] != "not_specified"]
    values = d[columns]
    recorded = (values != "").any(axis=1)
    ticked = (values == "1").any(axis=1)
    if not_specified:
        recorded |= d[not_specified] != ""
        unspecified = _is_one(d[not_specified]) & ~ticked
    else:
        unspecified = pd.Series(False, index=d.index)
    specified = recorded & ~unspecified & ticked
    n = len(d)
    rates = {flags[c]: _round(_is_one(d.loc[specified, c]).mean()) for c in columns
             if _is_one(d.loc[specified, c]).sum() >= MIN_COUNT}
    out: dict[str, Any] = {
        "n": int(n),
        "missing": _round(1 - recorded.sum() / n),
        "not_specified": _round(unspecified.sum() / n),
        "rates": rates,
    }
    return out


def fit_means_of_control(d: pd.DataFrame) -> dict[str, Any]:
    fl = _is_one(d["isForcedLabour"])
    se = _is_one(d["isSexualExploit"])
    groups = {
        "forced_labour": d[fl & ~se],
        "sexual_exploitation": d[se & ~fl],
        "other": d[~fl & ~se],
    }
    return {name: _group_rates(g, "means_of_control", "meansOfControlNotSpecified")
            for name, g in groups.items()}


def fit_recruiter(d: pd.DataFrame) -> dict[str, Any]:
    codes = _label_to_code("recruiter_relation")
    raw = d["RecruiterRelationship"]
    recorded = raw[raw != ""]
    sets = (tuple(sorted(codes[p.strip()] for p in cell.split(";"))) for cell in recorded)
    return {"missing": _round(1 - len(recorded) / len(d)), "combinations": _combinations(sets)}


def fit_abduction(d: pd.DataFrame) -> dict[str, float]:
    col = d["isAbduction"]
    return _shares({"yes": int((col == "1").sum()), "no": int((col == "0").sum()),
                    "missing": int((col == "").sum())})


def fit_country_gaps(d: pd.DataFrame, column: str) -> dict[str, float]:
    col = d[column]
    return {"unknown": _round((col == "Unknown").mean()),
            "missing": _round(col.isin(["", "Missing"]).mean())}


def fit(ctdc: Path) -> dict[str, Any]:
    d = pd.read_csv(ctdc, dtype=str, keep_default_na=False)
    age, majority_given_band = fit_age(d)
    fl = d[_is_one(d["isForcedLabour"])]
    se = d[_is_one(d["isSexualExploit"])]
    return {
        "version": 1,
        "source": {
            "dataset": "CTDC global k-anonymised dataset (2018 download)",
            "file": ctdc.name,
            "rows": len(d),
            "years": list(SOURCE_YEARS),
            "fitted_by": "tools/fit_demo_params.py",
        },
        "notes": NOTES,
        "year_of_registration": fit_years(d),
        "data_source": fit_data_source(d),
        "gender": fit_gender(d),
        "age_band": age,
        "majority_status_given_age_band": majority_given_band,
        "exploitation_type": fit_exploitation(d),
        "means_of_control_given_type": fit_means_of_control(d),
        "labour_type_given_forced_labour": _group_rates(fl, "labour_type",
                                                        "typeOfLabourNotSpecified"),
        "sex_exploitation_type_given_sexual_exploitation": _group_rates(
            se, "sex_exploitation_type", None),
        "recruiter_relation": fit_recruiter(d),
        "abduction": fit_abduction(d),
        "citizenship": fit_country_gaps(d, "citizenship"),
        "country_of_exploitation": fit_country_gaps(d, "CountryOfExploitation"),
        "duplicates": {"share": DUPLICATE_SHARE},
        "partners": PARTNERS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ctdc", type=Path, default=DEFAULT_CTDC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    params = fit(args.ctdc)
    args.out.write_text(json.dumps(params, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
