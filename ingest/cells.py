"""Render a typed cell (from Excel, JSON or Parquet) as the string a partner would have typed."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping

# Integral floats below this are written without ".0"; beyond it a float has lost digits
# anyway and its repr ("1e+22") is the honest rendering.
_INTEGRAL_FLOAT_LIMIT = 1e21


def render(value: object) -> str:
    """The cell as text: "" for empty, "17" not "17.0", ISO dates, "TRUE"/"FALSE".

    Values are never interpreted beyond that: an Excel date serial stays a number and a
    day-first date typed as text stays text; harmonize decides what they mean.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # bool before int: bool is a subclass of int
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _render_float(value)
    if isinstance(value, decimal.Decimal):
        return _render_decimal(value)
    # datetime before date: datetime is a subclass of date
    if isinstance(value, dt.datetime):
        return _render_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds" if not value.microsecond else "milliseconds")
    if isinstance(value, dt.timedelta):
        return _render_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _render_bytes(bytes(value))
    if isinstance(value, list | tuple | Mapping):
        return compact_json(value)
    return str(value)


def compact_json(value: object) -> str:
    """A list or object as compact JSON, so that a multi-select cell survives as one string."""
    return json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _render_float(value: float) -> str:
    # NaN is how pandas-written files spell a missing number
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < _INTEGRAL_FLOAT_LIMIT:
        return str(int(value))
    return repr(value)


def _render_decimal(value: decimal.Decimal) -> str:
    if not value.is_finite():
        return "" if value.is_nan() else str(value)
    if value == value.to_integral_value():
        return str(int(value))
    return str(value)


def _render_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None and value.time() == dt.time(0, 0):
        return value.date().isoformat()
    return value.isoformat(timespec="seconds" if not value.microsecond else "milliseconds")


def _render_duration(value: dt.timedelta) -> str:
    # Excel "[h]:mm:ss" durations; hours may exceed 24, so not str(timedelta) ("1 day, …")
    total = round(value.total_seconds())
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}"


def _render_bytes(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        # binary payloads are not table cells; keep them lossless rather than mangled
        return "base64:" + base64.b64encode(value).decode("ascii")


def _jsonable(value: object) -> object:
    """Nested values JSON can hold, rendered with the same rules as top-level cells."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < _INTEGRAL_FLOAT_LIMIT:
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return render(value)
