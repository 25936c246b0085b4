"""The common schema: its definition, and that every derived form agrees with it."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml
from frictionless import Schema as FrictionlessSchema

from schemas import dtypes, table_schema
from schemas.codebook import codebook
from schemas.ctdc_form import from_ctdc, to_ctdc
from schemas.definition import SCHEMA, load_vocabularies, normalise_token, snake_case
from schemas.tables import cases, metadata


def test_ctdc_columns_match_the_real_file_in_order(ctdc_kanon_path: Path) -> None:
    with gzip.open(ctdc_kanon_path, "rt", encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    ours = [f.ctdc for f in SCHEMA.ctdc_fields]
    # Every column of the real file is ours, in the same relative order; ours adds only the
    # *Concatenated columns of CTDC's later (2021) dictionary.
    assert [c for c in ours if c in header] == header
    assert sorted(set(ours) - set(header)) == sorted([
        "meansOfControlConcatenated", "typeOfExploitConcatenated", "typeOfLabourConcatenated",
        "typeOfSexConcatenated"])


def test_value_labels_cover_the_real_file(ctdc_kanon_path: Path) -> None:
    real = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False)
    for f in SCHEMA.ctdc_fields:
        if f.type not in ("category", "country"):
            continue
        labels = set(SCHEMA.vocabulary_of(f).code_of_label()) | {""}
        if f.type == "country":
            labels |= {"Missing"}  # the 2018 file's literal for "not supplied"
        seen = set(real[f.ctdc].unique())
        assert seen <= labels, (f.ctdc, seen - labels)


def test_flags_in_the_real_file_are_one_zero_or_empty(ctdc_kanon_path: Path) -> None:
    real = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False)
    for f in SCHEMA.ctdc_fields:
        if f.type == "flag":
            assert set(real[f.ctdc].unique()) <= {"0", "1", ""}, f.ctdc


def test_round_trip_through_ctdc_form_on_the_real_file(ctdc_kanon_path: Path) -> None:
    real = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False, nrows=5000)
    internal = from_ctdc(real)
    back = to_ctdc(internal)
    for f in SCHEMA.case_fields:
        if f.ctdc is None:
            continue
        expected = real[f.ctdc].replace({"Missing": ""})
        got = back[f.ctdc].astype("string").fillna("")
        assert (got == expected).all(), f.ctdc
    # The derived concatenation reproduces CTDC's own RecruiterRelationship where it is set.
    rel = real["RecruiterRelationship"]
    mask = rel != ""
    rebuilt = back.loc[mask, "RecruiterRelationship"].fillna("")
    agree = (rebuilt.str.split("; ").map(sorted) == rel[mask].str.split("; ").map(sorted)).mean()
    assert agree > 0.95


def test_unknown_is_a_value_distinct_from_not_supplied() -> None:
    frame = pd.DataFrame({"gender": pd.Categorical(["unknown", None, "female"],
                                                   categories=SCHEMA.vocabularies["gender"].codes)})
    out = to_ctdc(frame)
    assert out["gender"].tolist()[0] == "Unknown"
    assert out["gender"].isna().tolist() == [False, True, False]


def test_sqlalchemy_cases_table_is_derived_from_the_definition() -> None:
    stored = [f.name for f in SCHEMA.stored_fields]
    assert [c.name for c in cases.columns] == stored
    for f in SCHEMA.stored_fields:
        col = cases.c[f.name]
        expected = {"year": sa.SmallInteger, "category": sa.String, "country": sa.String,
                    "flag": sa.Boolean, "key": sa.String, "text": sa.String,
                    "integer": sa.Integer, "smallint": sa.SmallInteger,
                    "timestamp": sa.DateTime}[f.type]
        assert isinstance(col.type, expected), f.name
        assert col.nullable == (not f.internal or f.optional), f.name
    assert set(metadata.tables) == {"organisations", "api_keys", "mappings", "uploads", "cases",
                                    "releases", "privacy_caps", "privacy_spends", "cohorts",
                                    "cohort_files", "snapshot_cases"}


def test_pandas_and_arrow_dtypes_are_derived_from_the_definition() -> None:
    pd_types = dtypes.pandas_dtypes()
    arrow = dtypes.arrow_schema()
    assert list(pd_types) == [f.name for f in SCHEMA.stored_fields] == arrow.names
    for f in SCHEMA.stored_fields:
        if f.type in ("category", "country"):
            assert list(pd_types[f.name].categories) == list(SCHEMA.vocabulary_of(f).codes)
            assert pa.types.is_dictionary(arrow.field(f.name).type)
        if f.type == "flag":
            assert pd_types[f.name] == "boolean"
            assert arrow.field(f.name).type == pa.bool_()
    ctdc = dtypes.ctdc_arrow_schema()
    assert ctdc.names == [f.ctdc for f in SCHEMA.ctdc_fields]


def test_frictionless_table_schema_is_valid_and_derived() -> None:
    descriptor = table_schema.ctdc_table_schema()
    fl = FrictionlessSchema.from_descriptor(descriptor)
    assert fl.field_names == [f.ctdc for f in SCHEMA.ctdc_fields]
    gender = next(x for x in descriptor["fields"] if x["name"] == "gender")
    assert gender["categories"] == [v.label for v in SCHEMA.vocabularies["gender"].values]
    internal = FrictionlessSchema.from_descriptor(table_schema.internal_table_schema())
    assert internal.field_names == [f.name for f in SCHEMA.stored_fields]


def test_codebook_is_derived_from_the_definition() -> None:
    book = codebook()
    assert [v.name for v in book] == [f.ctdc for f in SCHEMA.ctdc_fields]
    age = next(v for v in book if v.name == "ageBroad")
    bands = SCHEMA.vocabularies["age_band"].values
    assert [x.label for x in age.values] == [v.label for v in bands]
    assert {v.internal_name for v in book if v.quasi_identifier} == set(SCHEMA.quasi_identifiers)


def test_every_multi_select_value_has_exactly_one_flag_column() -> None:
    for vocab in SCHEMA.vocabularies.values():
        if vocab.multi_select:
            flags = SCHEMA.flags_of(vocab.name)
            assert [f.code for f in flags] == list(vocab.codes)


def test_gender_keeps_an_explicit_unknown_and_every_category_vocabulary_has_one() -> None:
    for name in ("gender", "age_band", "majority_status", "country", "recruiter_relation"):
        assert any(v.unknown for v in SCHEMA.vocabularies[name].values), name


def test_countries_cover_iso3166_with_m49_groupings() -> None:
    import pycountry

    countries = SCHEMA.vocabularies["country"]
    codes = set(countries.codes)
    assert {c.alpha_3 for c in pycountry.countries} <= codes
    groups = {g["code"]: g for g in countries.groups}
    for v in countries.values:
        if v.unknown or v.extra["subregion"] == v.extra["region"]:  # Antarctica: no sub-region
            continue
        sub = groups[str(v.extra["subregion"])]
        assert sub["parent"] == str(v.extra["region"]), v.code
        assert groups[str(v.extra["region"])]["level"] == "region"
    assert countries.value("LBY").extra["subregion"] == "015"  # Northern Africa
    assert countries.value("NER").extra["region"] == "002"  # Africa


def test_vocabulary_files_are_valid_yaml_with_unique_codes(tmp_path: Path) -> None:
    vocabularies = load_vocabularies()
    assert set(vocabularies) >= {"gender", "age_band", "majority_status", "data_source",
                                 "exploitation_type", "means_of_control", "labour_type",
                                 "sex_exploitation_type", "recruiter_relation", "country"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "values": [{"code": "a", "label": "A"},
                                                          {"code": "a", "label": "B"}]}))
    from schemas.errors import SchemaDefinitionError

    with pytest.raises(SchemaDefinitionError):
        load_vocabularies(tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ("meansOfControlDebtBondage", "means_of_control_debt_bondage"),
    ("CountryOfExploitation", "country_of_exploitation"),
    ("isSexAndLabour", "is_sex_and_labour"),
])
def test_snake_case(text: str, expected: str) -> None:
    assert snake_case(text) == expected


def test_normalise_token_folds_accents_case_and_spacing() -> None:
    assert normalise_token("  Travail  Forcé ") == normalise_token("travail force")
    assert normalise_token("Côte d’Ivoire") == normalise_token("cote d'ivoire")
