"""Mapping files: validated by a schema, errors give the line and never a cell value."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonize.errors import MappingInvalid
from harmonize.mapping import load_mapping, parse_mapping

GOOD = """\
mapping_version: "ngo-x/2"
case_id: "Case ID"
constants:
  data_source: hotline
fields:
  gender: {column: "Sex", values: {"F": female}}
  exploitation_type: {column: "Types", separator: ";"}
"""


def test_a_valid_mapping_lists_the_columns_it_reads() -> None:
    m = parse_mapping(GOOD)
    assert m.mapping_version == "ngo-x/2"
    assert m.columns == ("Case ID", "Sex", "Types")


@pytest.mark.parametrize(("text", "line", "words"), [
    (GOOD.replace("gender:", "gendre:"), 6, "gendre"),
    (GOOD.replace("female}", "woman}"), 6, "not a code of gender"),
    (GOOD.replace("hotline", "radio"), 4, "radio"),
    (GOOD.replace('"ngo-x/2"', '"NGO X"'), 1, "mapping_version"),
    (GOOD.replace("separator", "sep"), 7, "sep"),
])
def test_errors_name_the_line_and_the_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(MappingInvalid) as err:
        parse_mapping(text, "m.yaml")
    assert f"m.yaml line {line}" in str(err.value)
    assert words in str(err.value)


def test_broken_yaml_is_rejected_with_its_line() -> None:
    with pytest.raises(MappingInvalid) as err:
        parse_mapping("fields: [\n  a: b\n", "m.yaml")
    assert "m.yaml line" in str(err.value)


def test_demo_mappings_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "ctcollab" / "demo_mappings"
    found = sorted(folder.glob("*.yaml"))
    assert len(found) >= 4
    for path in found:
        assert load_mapping(path).mapping_version.startswith(path.stem + "/")
