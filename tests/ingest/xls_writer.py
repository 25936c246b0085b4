"""A minimal BIFF8 .xls writer (OLE2 container, one Workbook stream), to test .xls reading.

No .xls writer is installed (xlwt is not a dependency), and a test file built here is
better than a binary blob nobody can read: strings, numbers, dates and merged cells only.
Also the two kinds of password-protected workbook: an .xls whose globals carry FILEPASS,
and an encrypted .xlsx (an OLE2 container of EncryptionInfo + EncryptedPackage streams).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence

Cell = str | float | int | dt.date | None
Merge = tuple[int, int, int, int]  # first row, last row, first column, last column (0-based)

_END, _FREE, _FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
_GENERAL_XF, _DATE_XF = 15, 16  # indexes into the XF records written below
_EPOCH = dt.date(1899, 12, 30)


def xls_bytes(
    sheets: Sequence[tuple[str, Sequence[Sequence[Cell]], Sequence[Merge]]],
    *,
    filepass: bool = False,
) -> bytes:
    """The workbook; `filepass` marks it RC4-encrypted, as Excel does for a password.

    (Only the marker: the cells stay in clear, which is what a leak test wants to see
    never surface.)
    """
    strings: list[str] = []
    bodies = [_sheet(rows, merges, strings) for _, rows, merges in sheets]
    names = [name for name, _, _ in sheets]
    size = len(_globals(names, [0] * len(names), strings, filepass))
    offsets = []
    for body in bodies:
        offsets.append(size)
        size += len(body)
    return _compound_file(_globals(names, offsets, strings, filepass) + b"".join(bodies))


def encrypted_xlsx_bytes(package: bytes) -> bytes:
    """An .xlsx as Excel saves it with a password: OLE2 holding the encrypted package."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b"\0" * 200  # "agile" encryption, version 4.4
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": package})


def _record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x0006))


def _unicode(text: str) -> bytes:
    return struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")


def _xf(fmt: int, style: bool) -> bytes:
    flags = 0xFFF5 if style else 0x0001
    return _record(0x00E0, struct.pack("<HHHBBBBIIH", 0, fmt, flags, 0x20, 0, 0, 0, 0, 0, 0x20C0))


def _globals(
    names: list[str], offsets: list[int], strings: list[str], filepass: bool = False
) -> bytes:
    font = _record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
                   + struct.pack("<BB", 5, 1) + "Arial".encode("utf-16-le"))  # fmt: skip
    out = _bof(0x0005)
    if filepass:
        # FILEPASS right after BOF: RC4 (type 1), CryptoAPI header version 2.2, then salt etc.
        out += _record(0x002F, struct.pack("<HHH", 1, 2, 2) + b"\0" * 48)
    out += _record(0x0042, struct.pack("<H", 1200)) + font * 5
    out += b"".join(_xf(0, style=True) for _ in range(15)) + _xf(0, False) + _xf(14, False)
    for name, offset in zip(names, offsets, strict=True):
        out += _record(0x0085, struct.pack("<IHB", offset, 0, len(name)) + b"\x01"
                       + name.encode("utf-16-le"))  # fmt: skip
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(map(_unicode, strings))
    return out + _record(0x00FC, sst) + _record(0x000A, b"")


def _sheet(rows: Sequence[Sequence[Cell]], merges: Sequence[Merge], strings: list[str]) -> bytes:
    cells = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                if value not in strings:
                    strings.append(value)
                cells += _record(
                    0x00FD, struct.pack("<HHHI", r, c, _GENERAL_XF, strings.index(value))
                )
            elif isinstance(value, dt.date):
                serial = float((value - _EPOCH).days)
                cells += _record(0x0203, struct.pack("<HHHd", r, c, _DATE_XF, serial))
            else:
                cells += _record(0x0203, struct.pack("<HHHd", r, c, _GENERAL_XF, float(value)))
    width = max((len(row) for row in rows), default=0)
    body = _bof(0x0010) + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0)) + cells
    if merges:
        refs = b"".join(struct.pack("<HHHH", *m) for m in merges)
        body += _record(0x00E5, struct.pack("<H", len(merges)) + refs)
    return body + _record(0x000A, b"")


def _compound_file(stream: bytes) -> bytes:
    """Sector 0 the FAT, sector 1 the directory, then the stream (>= 4096 bytes: no mini stream)."""
    return compound_file({"Workbook": stream})


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 container: sector 0 the FAT, sector 1 the directory (at most 3 streams),
    then each stream padded to >= 4096 bytes, so that none lives in a mini stream."""
    assert 1 <= len(streams) <= 3
    padded = {
        name: data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0")
        for name, data in streams.items()
    }
    fat = [_FATSECT, _END]
    starts = []
    for data in padded.values():
        n = len(data) // 512
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(n - 1)] + [_END]
    assert len(fat) <= 128
    fat += [_FREE] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108
    )  # fmt: skip

    def entry(name: str, kind: int, right: int, child: int, start: int, length: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (
            raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", _FREE, right, child) + b"\0" * 36
            + struct.pack("<IQ", start, length)
        )  # fmt: skip

    entries = [entry("Root Entry", 5, _FREE, 1, _END, 0)]
    for i, (name, start, data) in enumerate(zip(padded, starts, padded.values(), strict=True)):
        # siblings chained to the right: a degenerate but valid red-black tree, all black
        right = i + 2 if i + 1 < len(padded) else _FREE
        entries.append(entry(name, 2, right, _FREE, start, len(data)))
    entries += [entry("", 0, _FREE, _FREE, 0, 0)] * (4 - len(entries))
    return header + struct.pack("<128I", *fat) + b"".join(entries) + b"".join(padded.values())
