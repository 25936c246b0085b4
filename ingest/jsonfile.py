"""Read JSON exports (records array, wrapper object holding one, NDJSON) into a RawTable."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import NoReturn

import numpy as np

from ingest.cells import render
from ingest.errors import EmptyFile, MalformedJson, NestingTooDeep, NulCharacter
from ingest.grid import (
    GridSource,
    build_table,
    cell_too_long,
    check_unique,
    clean_name,
    frame_from_columns,
    too_many_columns,
    too_many_rows,
)
from ingest.limits import DEFAULT_LIMITS, Limits
from ingest.table import RawTable

#: how deep a wrapper object is searched for its list of records
_MAX_WRAPPER_DEPTH = 3
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# a JSON string (brackets inside one are text); possessive, so a long one costs no backtracking
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)
_DEPTH_BLOCK = 1 << 20


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json's object hook: a key given twice would silently lose a value, so refuse it."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs)


def read_json(
    text: str,
    filename: str,
    *,
    encoding: str,
    limits: Limits = DEFAULT_LIMITS,
    lines: bool = False,
) -> RawTable:
    """Parse JSON text; `lines` (from a .ndjson/.jsonl name) reads one record per line.

    Records become rows; nested objects become "victim.gender" columns; arrays stay one
    cell as compact JSON (a multi-select survives); null is "". The nesting depth is
    checked first, without recursion: json's own parser recurses, and a file of a hundred
    thousand "[" would crash it rather than be refused.
    """
    check_depth(text, filename, limits.max_json_depth)
    if not lines:
        try:
            doc = _DECODER.decode(text)
        except _DuplicateKey as err:
            _duplicate_key(filename, err.key, None)
        except json.JSONDecodeError as err:
            # "Extra data" after a first complete value: one record per line (NDJSON)
            if not (err.msg == "Extra data" and text.lstrip().startswith("{")):
                _malformed(filename, err)
        else:
            return _from_document(doc, filename, encoding, limits)
    return _from_records(_stream(text, filename), filename, "ndjson", encoding, limits)


def check_depth(text: str, filename: str, max_depth: int) -> None:
    """Refuse JSON whose arrays and objects nest deeper than `max_depth`, counting with numpy.

    Strings are taken out first (a "[" inside one is text); what remains is read in blocks
    of a million characters, the running depth carried from block to block.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return  # cannot be deeper than it has brackets
    structure = _STRING.sub("", text)
    depth = 0
    deepest = 0
    for at in range(0, len(structure), _DEPTH_BLOCK):
        block = np.frombuffer(
            structure[at : at + _DEPTH_BLOCK].encode("utf-8", "replace"), dtype=np.uint8
        )
        step = np.isin(block, _OPEN).astype(np.int32) - np.isin(block, _CLOSE).astype(np.int32)
        levels = np.cumsum(step) + depth
        if len(levels):
            deepest = max(deepest, int(levels.max()))
            depth = int(levels[-1])
        if deepest > max_depth:
            raise NestingTooDeep(
                f"{filename} nests arrays or objects more than {max_depth} levels deep; a "
                "case record needs only a few.",
                hint="export the records as a flat list of objects, one per case",
                filename=filename,
            )


def _from_document(doc: object, filename: str, encoding: str, limits: Limits) -> RawTable:
    if isinstance(doc, list) and doc and all(isinstance(item, list) for item in doc):
        # an array of arrays, the first naming the columns (spreadsheet-style exports)
        source = GridSource(filename=filename, format="json", encoding=encoding)
        return build_table(
            ((i + 1, row) for i, row in enumerate(doc)),
            source,
            limits=limits,
            unnamed=lambda i: f"column_{i + 1}",
        )
    records = _records_of(doc, filename)
    return _from_records(
        ((i + 1, r) for i, r in enumerate(records)), filename, "json", encoding, limits
    )


def _records_of(doc: object, filename: str) -> list[object]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        found = list(_record_lists(doc, "", 0))
        if len(found) == 1:
            return found[0][1]
        if len(found) > 1:
            listed = ", ".join(f"'{path}'" for path, _ in found)
            raise MalformedJson(
                f"{filename} holds several lists of records ({listed}); which one is the "
                "table is ambiguous.",
                hint="upload one list of records per file",
                filename=filename,
            )
        if any(isinstance(v, list) and not v for v in doc.values()):
            return []  # a wrapper whose list of records is empty
        return [doc]  # a single record
    raise MalformedJson(
        f"{filename} holds a single value, not records.",
        hint="export an array of objects, one object per case: [{...}, {...}]",
        filename=filename,
    )


def _record_lists(
    doc: Mapping[str, object], prefix: str, depth: int
) -> Iterator[tuple[str, list[object]]]:
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            yield path, value
        elif isinstance(value, dict) and depth < _MAX_WRAPPER_DEPTH:
            yield from _record_lists(value, path + ".", depth + 1)


def _stream(text: str, filename: str) -> Iterator[tuple[int, object]]:
    """Consecutive JSON values (one per line, or pretty-printed one after another)."""
    pos = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    number = 0
    while pos < len(text):
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except _DuplicateKey as err:
            _duplicate_key(filename, err.key, number + 1)
        except json.JSONDecodeError as err:
            _malformed(filename, err, record=number + 1)
        number += 1
        yield number, value
        pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]


def _from_records(
    records: Iterator[tuple[int, object]],
    filename: str,
    fmt: str,
    encoding: str,
    limits: Limits,
) -> RawTable:
    source = GridSource(filename=filename, format=fmt, encoding=encoding)
    columns: dict[str, None] = {}  # an ordered set: first-seen order
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, record in records:
        if not isinstance(record, dict):
            raise MalformedJson(
                f"Record {number} of {filename} is not an object.",
                hint="each record must be a JSON object {...}, one per case",
                filename=filename,
                row=number,
            )
        if len(rows) >= limits.max_rows:
            raise too_many_rows(source, limits)
        flat: dict[str, str] = {}
        _flatten(record, "", flat, source, number, limits)
        for name in flat:
            if name not in columns:
                if len(columns) >= limits.max_columns:
                    raise too_many_columns(source, len(columns) + 1, limits)
                columns[name] = None
        rows.append(flat)
        numbers.append(number)
    if not columns:
        raise EmptyFile(
            f"{filename} contains no records.",
            hint="check that the export is not empty",
            filename=filename,
        )
    names = list(columns)
    named = [n or f"column_{i + 1}" for i, n in enumerate(names)]
    check_unique(named, source)
    values = [[row.get(name, "") for row in rows] for name in names]
    return RawTable(
        frame=frame_from_columns(named, values),
        source_rows=tuple(numbers),
        format=fmt,
        encoding=encoding,
        delimiter=None,
        sheet=None,
    )


def _flatten(
    record: Mapping[str, object],
    prefix: str,
    out: dict[str, str],
    source: GridSource,
    number: int,
    limits: Limits,
) -> None:
    # recursion is bounded: check_depth has refused anything deeper than max_json_depth
    for key, value in record.items():
        path = f"{prefix}{key}"
        if len(path) > limits.max_cell_chars:
            raise cell_too_long(source, number, "(a field name)", len(path), limits)
        if isinstance(value, dict):
            # {} carries nothing; a nested object spreads into "parent.child" columns
            _flatten(value, path + ".", out, source, number, limits)
            continue
        name = clean_name(path)
        if name in out:
            raise MalformedJson(
                f"Record {number} of {source.filename} gives the field '{name}' twice "
                "(once nested, once spelled with a dot, or with extra spaces).",
                hint="rename one of the two fields",
                filename=source.filename,
                row=number,
                column=name,
            )
        cell = render(value)
        if len(cell) > limits.max_cell_chars:
            raise cell_too_long(source, number, name, len(cell), limits)
        if "\x00" in cell:
            raise NulCharacter(
                f"Record {number} of {source.filename}, field '{name}', contains a NUL "
                "character (written \\u0000), which a table cell cannot hold.",
                hint="remove it in the case-management tool and export the file again",
                filename=source.filename,
                row=number,
                column=name,
            )
        out[name] = cell


def _malformed(filename: str, err: json.JSONDecodeError, record: int | None = None) -> NoReturn:
    # err.msg is one of json's fixed phrases ("Expecting ',' delimiter"); err.doc, the whole
    # file, must not travel with the exception, hence "from None"
    where = f"record {record}, " if record is not None else ""
    raise MalformedJson(
        f"{filename} is not valid JSON: {err.msg} at {where}line {err.lineno}, column {err.colno}.",
        hint="export the file again from the case-management tool",
        filename=filename,
        row=record,
    ) from None


def _duplicate_key(filename: str, key: str, record: int | None) -> NoReturn:
    where = f"Record {record} of {filename}" if record is not None else f"An object in {filename}"
    raise MalformedJson(
        f"{where} has the field '{clean_name(key)}' twice; one of the values would be lost.",
        hint="export the file again, or remove the repeated field",
        filename=filename,
        row=record,
        column=clean_name(key),
    ) from None
