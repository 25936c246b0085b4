"""Reading the rendered site back: its pages, their links and the sources of their figures."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Numbers that are part of fixed names and phrases, not figures: the interval level, the
# standards the pages cite, the API's version and the checksum file.
FIXED = re.compile(
    r"95\s?%|ISO 3166|M49|SHA-256|SHA256SUMS|sha256sum|RFC 9457|HTTP 429|/api/v1|UTF-8")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None
    text: list[str] = field(default_factory=list)  # own text and that of descendants

    def ancestors(self) -> list[Element]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


@dataclass
class Page:
    path: Path
    elements: list[Element]
    # (text, the innermost element holding it) for every text node
    texts: list[tuple[str, Element]]

    def attr(self, tag: str, name: str) -> list[str]:
        return [e.attrs[name] for e in self.elements if e.tag == tag and name in e.attrs]

    def by_attr(self, name: str) -> list[Element]:
        return [e for e in self.elements if name in e.attrs]

    @property
    def html_lang(self) -> str:
        return self.attr("html", "lang")[0]

    def text_of(self, e: Element) -> str:
        # Only ASCII white space: the narrow no-break space groups digits in French.
        return re.sub(r"[ \t\r\n\f]+", " ", "".join(e.text)).strip(" \t\r\n\f")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.stack = [self.root]
        self.elements: list[Element] = []
        self.texts: list[tuple[str, Element]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        e = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.elements.append(e)
        if tag not in VOID:
            self.stack.append(e)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while len(self.stack) > 1:
            top = self.stack.pop()
            if top.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        holder = self.stack[-1]
        self.texts.append((data, holder))
        for e in [holder, *holder.ancestors()]:
            e.text.append(data)


def parse(path: Path) -> Page:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return Page(path, parser.elements, parser.texts)


def pages(release: Path) -> list[Page]:
    return [parse(p) for p in sorted((release / "site").rglob("*.html"))]


@cache
def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _sums(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest
    return out


def _at(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def shown_number(text: str, lang: str) -> Decimal:
    """A number as the page shows it (12,345 in English, 12 345 in French, 1e-09)."""
    try:
        return Decimal(str(parse_decimal(text, locale=lang, strict=True)))
    except NumberFormatError:
        return Decimal(text)


def _same_number(text: str, value: float | int, lang: str) -> bool:
    """``text`` is ``value`` written to as many digits as it shows."""
    shown = shown_number(text, lang)
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return abs(Decimal(repr(value)) - shown) <= Decimal(5).scaleb(exponent - 1)


def _digits(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _label_matches(text: str, cell: str, lang: str) -> bool:
    """A cell as shown: a number is the same number; a code shown as its label carries the
    code's numbers (2019; the age band 18–20) or none (Yes for 1, Libya for LBY)."""
    if not _digits(text):
        return True
    if re.fullmatch(r"-?\d+", cell):
        try:
            return shown_number(text, lang) == Decimal(cell)
        except ArithmeticError:
            return False
    return _digits(text) == _digits(cell)


def check_source(release: Path, page: Page, e: Element) -> str | None:
    """Why the figure ``e`` does not match the file it names (None when it does)."""
    src, text, lang = e.attrs["data-src"], page.text_of(e), page.html_lang
    path = release / src
    if not path.is_file() or release.resolve() not in path.resolve().parents:
        return f"{src} is not a file of the release"
    if src.endswith(".csv"):
        rows, col = _csv(path), e.attrs["data-col"]
        if "data-row" not in e.attrs:  # a value the page holds fixed: the file must have it
            code = e.attrs["data-code"]
            ok = any(r[col] == code for r in rows) and _label_matches(text, code, lang)
            return None if ok else f"{src}:{col} has no {code!r} shown as {text!r}"
        cell = rows[int(e.attrs["data-row"])][col]
        ok = _label_matches(text, cell, lang)
        return None if ok else f"{src} row {e.attrs['data-row']} {col}={cell!r} shown {text!r}"
    if src == "SHA256SUMS":
        if e.attrs.get("data-part") == "key":  # a file's name, as the manifest lists it
            ok = text == e.attrs["data-key"] and text in _sums(path)
            return None if ok else f"SHA256SUMS lists no {text!r}"
        ok = _sums(path).get(e.attrs["data-key"]) == text
        return None if ok else f"SHA256SUMS has no {text!r} for {e.attrs['data-key']}"
    data, key = _json(path), e.attrs["data-key"]
    try:
        value = _at(data, key)
    except (KeyError, IndexError, ValueError):
        return f"{src} has no {key}"
    if e.attrs.get("data-part") == "key":  # the name of a member, as a heading
        ok = text.replace(" ", "_") == key.rsplit(".", 1)[-1]
    elif isinstance(value, bool):
        ok = False
    elif isinstance(value, int | float):
        ok = _same_number(text, value, lang)
    elif isinstance(value, list):
        ok = text == ", ".join(str(v) for v in value)
    else:
        ok = text == re.sub(r"\s+", " ", str(value)).strip()
    return None if ok else f"{src}:{key}={value!r} shown {text!r}"


def untraced_numbers(page: Page) -> list[str]:
    """Text with a digit that no element names a source for (axis ticks aside: they are the
    chart's scale, not figures), once fixed names are taken out."""
    out = []
    for text, holder in page.texts:
        chain = [holder, *holder.ancestors()]
        if any("data-src" in e.attrs for e in chain) or any(e.tag in ("script", "style")
                                                            for e in chain):
            continue
        if holder.tag == "text" and "tick" in holder.attrs.get("class", "").split():
            continue
        rest = FIXED.sub("", text)
        if re.search(r"\d", rest):
            out.append(text.strip())
    return out


def csv_text(path: Path) -> tuple[str, str]:
    """The file's text and its line ending; refuses a BOM and invalid UTF-8."""
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{path.name} starts with a BOM"
    text = raw.decode("utf-8")  # strict: invalid UTF-8 raises
    ending = "\r\n" if "\r\n" in text else "\n"
    return text, ending


def minimal_csv(rows: list[list[str]], ending: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue()
