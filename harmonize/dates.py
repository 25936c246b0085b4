"""Dates in partner extracts: decide a column's format from its data, parse, compute ages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_MAX_SERIAL = 2_958_466  # 9999-12-31
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T].*)?$")
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class DateFormat:
    """How a column writes its dates; ``ambiguous`` when no value tells day from month."""

    format: str  # strftime format, "iso", "excel" or "year"
    ambiguous: bool = False


def detect_format(values: Iterable[str]) -> DateFormat | None:
    """Decide dd/mm/yyyy vs mm/dd/yyyy (or ISO, Excel serials, years) from a column's values.

    A first part above 12 proves day-first, a second part above 12 proves month-first; a
    column where neither ever happens is ambiguous and day-first is assumed (the
    convention of most partners), which the report says.
    """
    day_first = month_first = slashed = iso = serial = year = 0
    separators: set[str] = set()
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        m = _SLASHED.match(value)
        if m:
            slashed += 1
            separators.add(value[len(m.group(1))])
            a, b = int(m.group(1)), int(m.group(2))
            day_first += a > 12
            month_first += b > 12
        elif _ISO.match(value):
            iso += 1
        elif value.isdigit() and len(value) == 4:
            year += 1
        elif _is_serial(value):
            serial += 1
    counts = {"slashed": slashed, "iso": iso, "year": year, "excel": serial}
    kind = max(counts, key=lambda k: counts[k])
    if counts[kind] == 0:
        return None
    if kind != "slashed":
        return DateFormat(kind)
    sep = separators.pop() if len(separators) == 1 else "/"
    if month_first and not day_first:
        return DateFormat(f"%m{sep}%d{sep}%Y")
    return DateFormat(f"%d{sep}%m{sep}%Y", ambiguous=not day_first)


def _is_serial(value: str) -> bool:
    try:
        serial = float(value)
    except ValueError:
        return False
    # Serials of plausible registration dates: 1990..2100.
    return 32_874 <= serial <= 73_051


def parse_date(value: str, fmt: str | None) -> date | None:
    """A date from one cell, trying the column's format, then ISO, then an Excel serial."""
    text = value.strip()
    if fmt not in (None, "iso", "excel", "year"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    if fmt in (None, "excel"):
        try:
            serial = float(text)
        except ValueError:
            return None
        if 1 <= serial < EXCEL_MAX_SERIAL:
            return EXCEL_EPOCH + timedelta(days=serial)
    return None


def age_at(birth: date, on: date) -> int:
    """Completed years of age on a given day."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
