"""Property tests: any table the csv module writes, in any delimiter and encoding, reads back."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.cells import render
from ingest.readers import read_table

DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]

# what partners type: letters, digits, accents, the delimiters, quotes, line breaks
ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -'.()/"
SPECIAL = ';,\t|"\n\r'
ANY_TEXT = ASCII + SPECIAL + "éèêàçôîûÉÀÇ°’€œ" + "ليبيامصرتونس" + "水"
# A legacy code page cannot be told from another on arbitrary byte soup ("ÀÀÀ" in
# Windows-1252 is "ہہہ" in Windows-1256): files in one hold words of a language, so the
# Windows-1252 examples are made of French, Spanish and Portuguese words.
WORDS = [
    "Côte d'Ivoire", "Travail forcé", "N° dossier", "Mendicité", "Sénégal", "ÉTAT CIVIL",
    "âgée", "cœur", "12,5 €", "l’enquête", "Guinée", "São Tomé", "ação", "niño", "España",
    "¿Dónde?", "Éthiopie", "Libye", "Démocratique", "Ça", "à", "où", "déjà", "réfugiée",
]  # fmt: skip

# Header names: labels, which never contain a delimiter or a line break. This is the
# assumption that makes the delimiter decidable at all: a one-column file whose every
# value holds one comma is, byte for byte, also a valid two-column ',' file.
ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
HEADER_WORDS = ["N° dossier", "Âge", "Sexe", "Pays d'exploitation", "Année", "Type", "Société"]
HEADER_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéÉàÂ"
HEADER_REST = HEADER_START + "0123456789 _-.'°’()"


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str, str]:
    delimiter = draw(st.sampled_from(DELIMITERS))
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding == "cp1252":
        cell = st.lists(
            st.one_of(st.text(ASCII + SPECIAL, max_size=4), st.sampled_from(WORDS)), max_size=4
        ).map(" ".join)
    else:
        cell = st.text(ANY_TEXT, max_size=12)
    ncols = draw(st.integers(min_value=2, max_value=5))
    if encoding == "cp1252":
        name = st.builds(
            lambda w, x: f"{w} {x}".strip(), st.sampled_from(HEADER_WORDS), st.text(ASCII_LETTERS)
        )
    else:
        name = st.builds(
            lambda a, b: (a + b).strip(),
            st.text(HEADER_START, min_size=1, max_size=1),
            st.text(HEADER_REST, max_size=10),
        )
    header = draw(st.lists(name, min_size=ncols, max_size=ncols, unique=True))
    body = draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), min_size=0, max_size=8))
    return header, body, delimiter, encoding


def _encode(header: list[str], body: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buf.getvalue().encode(encoding)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_csv_round_trip(example: tuple[list[str], list[list[str]], str, str]) -> None:
    header, body, delimiter, encoding = example
    data = _encode(header, body, delimiter, encoding)
    table = read_table(data, "upload.csv")

    # a row of nothing but whitespace is no record; its number is simply skipped
    expected = [(i + 2, row) for i, row in enumerate(body) if any(c.strip() for c in row)]
    assert table.columns == tuple(header)
    assert [list(r) for r in table.frame.itertuples(index=False)] == [r for _, r in expected]
    assert table.source_rows == tuple(n for n, _ in expected)
    assert table.delimiter == delimiter
    if encoding != "cp1252" or not data.isascii():
        assert table.encoding == encoding


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    )
)
def test_render_is_a_string_and_integral_floats_lose_their_point(value: object) -> None:
    text = render(value)
    assert isinstance(text, str)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        assert text == str(int(value))
    if isinstance(value, float) and not value.is_integer():
        assert float(text) == value
