"""The two CSV readers (csv module row by row; pandas column-wise) agree on every text.

The fast reader is only allowed where it gives exactly the table, or exactly the error,
of the reference one: hypothesis throws well-formed, ragged, badly quoted and oversized
text at both, with tiny limits and tiny pandas blocks so that every limit and every block
boundary is crossed.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import delimited
from ingest.errors import IngestRejected
from ingest.limits import Limits
from ingest.readers import read_table
from ingest.table import RawTable

TINY = Limits(max_rows=4, max_columns=4, max_cell_chars=6)

# line separators other than CR and LF, controls and "#" must not split or end a record
WORD = st.text(alphabet="ab xé’\t#\x0b\x0c\x1a\x85\u2028", min_size=0, max_size=8)
QUOTED = st.builds(
    lambda s: '"' + s.replace('"', '""') + '"', st.text(alphabet='ab ;,"\r\n|', max_size=8)
)
BAD_QUOTED = st.builds(lambda a, b: f'"{a}"{b}', WORD, st.text(alphabet="ab", min_size=1))
LITERAL = st.builds(lambda a, b: f'{a}"{b}', st.text(alphabet="ab", min_size=1), WORD)
CELL = st.one_of(WORD, WORD, QUOTED, BAD_QUOTED, LITERAL, st.just(""), st.just("   "))
END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    delimiter = draw(st.sampled_from([";", ",", "\t", "|"]))
    header = draw(
        st.lists(st.text(alphabet="abcdé", min_size=1, max_size=5), min_size=1, max_size=5)
    )
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 9))):
        width = draw(st.integers(0, len(header) + 2))
        lines.append(delimiter.join(draw(CELL) for _ in range(width)))
    text = "".join(line + draw(END) for line in lines)
    return text if draw(st.booleans()) else text.rstrip("\r\n")


def outcome(call: object) -> tuple[str, object]:
    try:
        table = call()  # type: ignore[operator]
    except IngestRejected as err:
        return "error", (err.code, str(err), err.row, err.column)
    assert isinstance(table, RawTable)
    return "table", (
        table.columns,
        table.frame.to_numpy().tolist(),
        table.source_rows,
        table.header_rows,
        table.delimiter,
        table.encoding,
        [str(t) for t in table.frame.dtypes],
    )


def both(text: str, limits: Limits) -> tuple[tuple[str, object], tuple[str, object]]:
    data = text.encode("utf-8")
    slow = outcome(
        lambda: delimited.read_delimited(text, "x.csv", encoding="utf-8", limits=limits)
    )
    fast = outcome(
        lambda: delimited.read_delimited(
            text, "x.csv", encoding="utf-8", limits=limits, data=data
        )
    )
    return slow, fast


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(text=csv_texts(), tiny=st.booleans(), block=st.sampled_from([1, 2, 3, 200_000]))
@example(text='id;x\n"ab"c;d\n', tiny=False, block=2)
@example(text="id;x\n1;2;3\n4;5\n", tiny=False, block=1)
@example(text="id;x\n1;2\n\n3;4\n5;6\n7;8\n9;10\n", tiny=True, block=2)
@example(text="id;x\n1;abcdefgh\n", tiny=True, block=1)
@example(text='id;x\n1;"a""b""c""d"\n', tiny=True, block=1)
@example(text="t\n\nid;x\n1;2\n", tiny=False, block=1)
def test_column_reader_agrees_with_the_csv_module(text: str, tiny: bool, block: int) -> None:
    limits = TINY if tiny else Limits()
    with mock.patch.object(delimited, "_CHUNK_ROWS", block):
        slow, fast = both(text, limits)
    assert fast == slow


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet='ab;,\t|" \r\n\u00e9\x0b\u2028#', max_size=40))
def test_any_text_gives_the_same_result_both_ways(text: str) -> None:
    if not text.strip(" \r\n\t;,|"):
        return  # no record at all: refused before either reader runs
    slow, fast = both(text, Limits())
    assert fast == slow


def test_a_well_formed_file_is_read_column_wise(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("read row by row")

    monkeypatch.setattr(delimited, "read_rows", refuse)
    data = 'N° dossier;Type\r\nD-1;"Travail forcé; Mendicité"\r\nD-2;\r\n'.encode("cp1252")
    table = read_table(data, "x.csv")
    assert table.frame["Type"].tolist() == ["Travail forcé; Mendicité", ""]
    assert table.source_rows == (2, 3)
    assert all(isinstance(v, str) for v in table.frame["N° dossier"])


@pytest.mark.parametrize(
    "text",
    [
        'id;x\n"ab"c;d\n',  # a quote closed in the middle of a field
        "id;x\n1;2;3\n",  # a row wider than any the sample saw
        'id;x\n1;"never closed\n',
    ],
)
def test_unusual_text_goes_row_by_row(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = delimited.read_rows

    def spy(*args: object, **kwargs: object) -> RawTable:
        calls.append("rows")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delimited, "read_rows", spy)
    with contextlib.suppress(IngestRejected):
        read_table(text.encode(), "x.csv")
    assert calls == ["rows"]


def test_widest_field_bounds_every_cell() -> None:
    # the longest line bounds unquoted cells; a quoted one is measured quote to quote
    assert delimited.widest_field(b'a;b\r\n"x;y";z\r\n', quoted=True) == 7
    # lines of a few bytes, doubled quotes: still one cell, measured whole
    cell = '"' + 'a"\n'.replace('"', '""') * 20 + '"'
    assert delimited.widest_field(f"a;{cell};b\n".encode(), quoted=True) == len(cell)
    assert delimited.widest_field(b"abc", quoted=False) == 3
    assert delimited.widest_field(b"", quoted=False) == 0


def test_big_file_in_several_blocks_keeps_row_numbers() -> None:
    rows = "".join(f"{i};{'x' if i % 7 else ''};\r\n" if i % 5 else "\r\n" for i in range(1, 60))
    text = "id;val;\r\n" + rows
    with mock.patch.object(delimited, "_CHUNK_ROWS", 8):
        slow, fast = both(text, Limits())
    assert fast == slow
    with mock.patch.object(delimited, "_CHUNK_ROWS", 8):
        table = read_table(text.encode(), "x.csv")
    assert table.source_rows[:3] == (2, 3, 4) and 6 not in table.source_rows


def test_limits_default_and_replace() -> None:
    limits = Limits()
    assert (limits.max_columns, limits.max_cell_chars, limits.max_json_depth) == (500, 32768, 32)
    assert replace(limits, max_rows=5).max_rows == 5
    with pytest.raises(ValueError, match="max_rows"):
        Limits(max_rows=0)
    with pytest.raises(ValueError, match="max_columns"):
        Limits(max_columns=True)
