"""One published table, loaded once: typed rows, their JSON and CSV bytes, an index per column.

Queries filter by column values (OR within a column, AND across columns), keep the file's
row order, page with an opaque cursor and return bytes assembled from precomputed pieces.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import numpy as np
import numpy.typing as npt
import orjson

from api.problems import InvalidCursor, InvalidFilter

MEASURES = frozenset({"count", "lower_95", "upper_95"})
FORMAT, SIZE, NEXT, FACET = "_format", "_size", "_next", "_facet"
RESERVED = frozenset({FORMAT, SIZE, NEXT, FACET})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MAX_VALUES = 300  # values of one filter in one request
Ids = npt.NDArray[np.int32]
YES_NO = frozenset({"0", "1"})
_YES_NO_WORDS = {"true": "1", "yes": "1", "false": "0", "no": "0"}


def shown_name(name: str) -> str:
    """A parameter name as an error may quote it: only if it looks like a column name."""
    return repr(name) if _NAME.match(name) else "(a malformed name)"


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    description: str
    type: str  # integer | number | string | boolean | ...
    filterable: bool
    categories: frozenset[str] | None

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "type": self.type, "filter": self.filterable}

    def normalise(self, value: str) -> str:
        """A yes/no column (codes 0 and 1) also takes true/false and yes/no, as people
        write them in a query (``?is_forced_labour=true``)."""
        if self.categories == YES_NO:
            return _YES_NO_WORDS.get(value.strip().lower(), value)
        return value

    def check(self, value: str) -> None:
        """Refuse a filter value that cannot occur in this column (says which, not what)."""
        if value == "":
            return
        if self.type == "integer":
            try:
                int(value)
            except ValueError:
                raise InvalidFilter(f"filter {self.name!r} takes whole numbers",
                                    hint="leave the value empty to match empty cells") from None
        elif self.categories is not None and value not in self.categories:
            raise InvalidFilter(f"a value of filter {self.name!r} is not one of the column's "
                                "codes", hint="the table's schema in datapackage.json lists them")


@dataclass(frozen=True)
class Query:
    filters: dict[str, tuple[str, ...]]
    format: str
    size: int
    offset: int
    facets: tuple[str, ...]
    paged: bool  # for CSV: only when _size or _next was given


def _parse_value(kind: str, text: str) -> object:
    if text == "":
        return None
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    return text


class Table:
    """A CSV resource of a release, in memory and indexed. Immutable once built."""

    def __init__(self, *, version: str, resource: dict[str, Any], data: bytes,
                 head: bytes, page_size: int, max_page_size: int) -> None:
        self.version = version
        self.name = str(resource["name"])
        self.title = str(resource.get("title", self.name))
        self.page_size, self.max_page_size = page_size, max_page_size
        privacy = resource.get("privacy") or {}
        dims = [str(d) for d in privacy.get("dimensions", [])]
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header = next(reader, [])
        fields = {f["name"]: f for f in (resource.get("schema") or {}).get("fields", [])}
        cols = []
        for name in header:
            f = fields.get(name, {})
            filterable = (name in dims or name == "flag") if dims else name not in MEASURES
            cats = f.get("categories")
            cols.append(Column(
                name=name, title=str(f.get("title", name)),
                description=str(f.get("description", "")), type=str(f.get("type", "string")),
                filterable=filterable,
                categories=frozenset(str(c) for c in cats) if isinstance(cats, list) else None))
        self.columns = tuple(cols)
        self.by_name = {c.name: c for c in cols}
        self.dimensions = tuple(dims) if dims else tuple(c.name for c in cols if c.filterable)

        raw_rows = [r for r in reader if r]
        kinds = [c.type for c in cols]
        names = [c.name for c in cols]
        self.rows: list[tuple[object, ...]] = []
        self.json_rows: list[bytes] = []
        self.csv_rows: list[bytes] = []
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        self.csv_header = out.getvalue().encode()
        for raw in raw_rows:
            cells = (raw + [""] * len(names))[:len(names)]
            values = tuple(_parse_value(k, v) for k, v in zip(kinds, cells, strict=True))
            self.rows.append(values)
            self.json_rows.append(orjson.dumps(dict(zip(names, values, strict=True))))
            out.seek(0)
            out.truncate()
            writer.writerow(cells)
            self.csv_rows.append(out.getvalue().encode())
        self.n = len(self.rows)

        # Per filterable column: the distinct values (as text), each row's value number, and
        # for each value the ids of its rows (ascending, so results keep the file's order).
        self.values: dict[str, list[str]] = {}
        self.codes: dict[str, npt.NDArray[np.int32]] = {}
        self.index: dict[str, dict[str, Ids]] = {}
        for j, c in enumerate(cols):
            if not c.filterable:
                continue
            seen: dict[str, int] = {}
            codes = np.fromiter((seen.setdefault(r[j] if j < len(r) else "", len(seen))
                                 for r in raw_rows), dtype=np.int32, count=len(raw_rows))
            order = list(seen)
            self.values[c.name] = order
            self.codes[c.name] = codes
            self.index[c.name] = {v: np.flatnonzero(codes == i).astype(np.int32)
                                  for i, v in enumerate(order)}
        flag_col = self.by_name.get("flag")
        self.published: npt.NDArray[np.bool_] | None = None
        if flag_col is not None:
            j = names.index("flag")
            self.published = np.fromiter((r[j] != "c" for r in raw_rows), dtype=np.bool_,
                                         count=len(raw_rows))
        # The fixed parts of every response: which release, which table, how to cite.
        self.head = head
        self.url = f"/api/v1/releases/{version}/tables/{quote(self.name)}"
        self.info = {
            "name": self.name, "title": self.title, "url": self.url, "rows": self.n,
            "columns": [c.info() for c in cols], "dimensions": list(self.dimensions),
            "privacy": privacy,
            "downloads": {
                "csv": f"/api/v1/releases/{version}/files/{resource['path']}",
                **({"parquet": f"/api/v1/releases/{version}/files/"
                    + str(resource["path"]).removesuffix(".csv") + ".parquet"}
                   if str(resource["path"]).endswith(".csv") else {}),
            },
        }
        self.info_bytes = orjson.dumps(self.info)

    # --- queries ------------------------------------------------------------------------------

    def parse(self, query_string: str) -> Query:
        filters: dict[str, list[str]] = {}
        fmt, size, offset, token = "json", self.page_size, 0, None
        facets: list[str] = []
        paged = False
        for name, value in parse_qsl(query_string, keep_blank_values=True):
            if name == FORMAT:
                if value not in ("json", "csv"):
                    raise InvalidFilter("_format is json or csv")
                fmt = value
            elif name == SIZE:
                if not value.isdigit() or not 1 <= int(value) <= self.max_page_size:
                    raise InvalidFilter(f"_size is a whole number from 1 to "
                                        f"{self.max_page_size}")
                size, paged = int(value), True
            elif name == NEXT:
                token, paged = value, True
            elif name == FACET:
                col = self.by_name.get(value)
                if col is None or not col.filterable:
                    raise InvalidFilter(f"cannot facet by {shown_name(value)}",
                                        hint="facet by one of the table's filter columns")
                if value not in facets:
                    facets.append(value)
            else:
                col = self.by_name.get(name)
                if col is None or not col.filterable:
                    raise InvalidFilter(
                        f"unknown filter {shown_name(name)} for table {self.name!r}",
                        hint="filters: " + ", ".join(c.name for c in self.columns
                                                     if c.filterable))
                value = col.normalise(value)
                col.check(value)
                values = filters.setdefault(name, [])
                if value not in values:
                    values.append(value)
                if len(values) > _MAX_VALUES:
                    raise InvalidFilter(f"too many values for filter {name!r}")
        clean = {k: tuple(v) for k, v in filters.items()}
        if token is not None:
            offset = self._offset(token, clean, size)
        return Query(clean, fmt, size, offset, tuple(facets), paged)

    def _fingerprint(self, filters: dict[str, tuple[str, ...]], size: int) -> str:
        text = orjson.dumps([self.version, self.name, sorted(filters.items()), size])
        return hashlib.sha256(text).hexdigest()[:12]

    def _token(self, offset: int, filters: dict[str, tuple[str, ...]], size: int) -> str:
        raw = orjson.dumps([offset, self._fingerprint(filters, size)])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def _offset(self, token: str, filters: dict[str, tuple[str, ...]], size: int) -> int:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            offset, fingerprint = orjson.loads(raw)
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
            raise InvalidCursor("the _next token is malformed",
                                hint="use the next link of the previous page as it is") from None
        if (not isinstance(offset, int) or offset < 0 or offset > self.n
                or fingerprint != self._fingerprint(filters, size)):
            raise InvalidCursor("the _next token belongs to another query",
                                hint="keep the filters and _size of the first page") from None
        return offset

    def select(self, filters: dict[str, tuple[str, ...]]) -> Ids | None:
        """Ids of the matching rows in file order; None for every row."""
        result: Ids | None = None
        for name, wanted in filters.items():
            index = self.index[name]
            parts = [index[v] for v in wanted if v in index]
            if not parts:
                return np.empty(0, dtype=np.int32)
            ids = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
            result = ids if result is None else np.intersect1d(result, ids, assume_unique=True)
        return result

    def facet(self, name: str, ids: Ids | None) -> list[dict[str, object]]:
        codes = self.codes[name] if ids is None else self.codes[name][ids]
        values = self.values[name]
        rows = np.bincount(codes, minlength=len(values))
        published = None
        if self.published is not None:
            mask = self.published if ids is None else self.published[ids]
            published = np.bincount(codes[mask], minlength=len(values))
        out: list[dict[str, object]] = []
        for i, n in enumerate(rows.tolist()):
            if n:
                entry: dict[str, object] = {"value": values[i] or None, "rows": n}
                if published is not None:
                    entry["published_rows"] = int(published[i])
                out.append(entry)
        return out

    def next_link(self, q: Query, next_offset: int) -> tuple[str, str]:
        """The cursor token of the page starting at ``next_offset``, and its URL."""
        token = self._token(next_offset, q.filters, q.size)
        params: list[tuple[str, str]] = [(k, v) for k, vs in q.filters.items() for v in vs]
        params += [(FACET, f) for f in q.facets]
        if q.format != "json":
            params.append((FORMAT, q.format))
        params += [(SIZE, str(q.size)), (NEXT, token)]
        return token, f"{self.url}?{urlencode(params)}"

    def render(self, q: Query) -> tuple[bytes, str | None]:
        """The body for a query, and the URL of the next page (if any)."""
        ids = self.select(q.filters)
        total = self.n if ids is None else len(ids)
        if q.format == "csv" and not q.paged:
            start, stop = 0, total
        else:
            start, stop = min(q.offset, total), min(q.offset + q.size, total)
        page: list[int] = (list(range(start, stop)) if ids is None
                           else ids[start:stop].tolist())
        token, next_url = self.next_link(q, stop) if stop < total and (
            q.format == "json" or q.paged) else (None, None)
        if q.format == "csv":
            rows = self.csv_rows
            return self.csv_header + b"".join([rows[i] for i in page]), next_url
        json_rows = self.json_rows
        facets = {f: self.facet(f, ids) for f in q.facets}
        body = b"".join((
            b'{"release":', self.head, b',"table":', self.info_bytes,
            b',"filters":', orjson.dumps({k: list(v) for k, v in q.filters.items()}),
            b',"total":', str(total).encode(), b',"offset":', str(start).encode(),
            b',"size":', str(q.size).encode(),
            b',"rows":[', b",".join([json_rows[i] for i in page]), b"]",
            b',"facets":', orjson.dumps(facets),
            b',"next":', orjson.dumps(token), b',"next_url":', orjson.dumps(next_url), b"}",
        ))
        return body, next_url

    def records(self, filters: dict[str, tuple[str, ...]]) -> list[dict[str, object]]:
        """Matching rows as dicts (for pages)."""
        ids = self.select(filters)
        names = [c.name for c in self.columns]
        chosen = range(self.n) if ids is None else ids.tolist()
        return [dict(zip(names, self.rows[i], strict=True)) for i in chosen]
