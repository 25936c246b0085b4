"""Decode an uploaded text file: BOM, then strict UTF-8, then a few legacy code pages.

A file that is UTF-8 except for some lines (a line pasted from a Windows-1252 file, or the
other way round) is refused rather than guessed at: decoded as one code page it would turn
"Sénégal" into "SÃ©nÃ©gal" on the other lines, silently. The message names the lines.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from ingest.errors import NulCharacter, UnreadableEncoding, UnsupportedFormat

# The legacy encodings partners actually send: Windows-1252 (French/English/Spanish/
# Portuguese Excel "CSV"), Windows-1256 (Arabic Excel), Mac Roman (old Mac Excel).
# Keeping the list short matters: every extra candidate is another way for a short French
# file to be "detected" as something that turns "forcé" into "forc┌".
LEGACY_CANDIDATES: tuple[str, ...] = ("cp1252", "cp1256", "mac_roman")

# A legacy decoding with more mojibake signs per non-ASCII character than this is wrong.
_MAX_MESS_RATIO = 0.2
# legacy code pages are one byte per character: this many bytes are this many characters
_MESS_SAMPLE_CHARS = 256 * 1024
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# characters real UTF-8 text is made of (Latin letters and symbols, Arabic, punctuation, €);
# the few byte pairs of a Windows-1252 file that happen to be valid UTF-8 decode to others
_NATURAL_NON_ASCII = re.compile(r"[\u00a0-\u024f\u0600-\u06ff\u2010-\u205f\u20ac]")
_LINES_NAMED = 3
# symbols that turn up when bytes are read in the wrong code page, not in case data;
# "œ", "€", "°", "«»", "’" and the dashes are real French/English text and are not here
# ("¿¡" are Spanish, "ºª" ordinals as in "nº", "´" a common apostrophe: also not here)
_RARE_SYMBOLS = frozenset("ƒ„†‡ˆ‰Š‹Žš›žŸ¢¤¥¦§¨©¬®¯±²³µ¶¸¹¼½¾˜™◊ıˇ˘˙˚˛˝ﬁﬂ√∫≈∆∂∑∏π≠≤≥∞Ω")

# (BOM, codec used to decode, name reported); UTF-32 before UTF-16, whose LE BOM is a prefix
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)
_BOM_LABELS = {"utf-32": "UTF-32", "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}

# Share of control characters above which decoded "text" is really a binary file.
_MAX_CONTROL_SHARE = 0.01
_ALLOWED_CONTROLS = frozenset("\t\n\r\x0c")
_CONTROL_BYTES = [bytes([b]) for b in range(32) if chr(b) not in _ALLOWED_CONTROLS]


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """Return (text, encoding name). The BOM, if any, is not part of the text.

    Raises UnreadableEncoding when no candidate decodes the bytes, or when some lines are
    UTF-8 and others not (see the module's docstring); UnsupportedFormat when the bytes
    are plainly not text (a binary file); NulCharacter for a NUL in otherwise good text.
    """
    text, encoding = _decode(data, filename)
    _check_is_text(text, filename)
    return text, encoding


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name
            except UnicodeDecodeError:
                # from None: the codec's message quotes bytes of the file
                label = _BOM_LABELS[name]
                raise _unreadable(
                    filename, f"it is marked as {label} (byte-order mark) but is not valid {label}"
                ) from None
    utf16 = _bomless_utf16(data)
    if utf16 is not None:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    # every remaining candidate is ASCII-compatible: control bytes are control characters
    _refuse_binary_bytes(data, filename)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    _refuse_mixed(data, filename)
    return _legacy(data, filename)


def _refuse_mixed(data: bytes, filename: str) -> None:
    """Refuse bytes that are not UTF-8 as a whole but hold whole lines of UTF-8 text."""
    text = data.decode("utf-8", errors="replace")
    if len(text) == len(data):
        return  # not one multi-byte sequence: a legacy file through and through
    pos = 0
    while True:
        found = _NATURAL_NON_ASCII.search(text, pos)
        if found is None:
            return
        start, end = _line_around(text, found.start())
        if "\ufffd" not in text[start:end]:
            break  # a line of UTF-8 text, in a file with lines that are not
        pos = end
    bad: list[int] = []
    at = text.find("\ufffd")
    while at >= 0 and len(bad) < _LINES_NAMED:
        bad.append(_line_number(text, at))
        at = text.find("\ufffd", _line_around(text, at)[1])
    more = at >= 0
    listed = ", ".join(str(n) for n in bad) + (" and others" if more else "")
    lines = "lines" if len(bad) > 1 or more else "line"
    raise UnreadableEncoding(
        f"{filename} mixes two text encodings: some of its lines are UTF-8, {lines} {listed} "
        "not; part of it was probably pasted from a file saved in another encoding.",
        hint="retype the accented letters on those lines, or export the whole file again "
        "in one go as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8)",
        filename=filename,
    )


def _line_around(text: str, at: int) -> tuple[int, int]:
    """Start and end (before its line end) of the line holding position `at`."""
    start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
    ends = [e for e in (text.find("\n", at), text.find("\r", at)) if e >= 0]
    return start, min(ends, default=len(text))


def _line_number(text: str, at: int) -> int:
    """1-based line number of position `at`; lines end with "\r\n", "\r" or "\n"."""
    return text.count("\n", 0, at) + text.count("\r", 0, at) - text.count("\r\n", 0, at) + 1


def _legacy(data: bytes, filename: str) -> tuple[str, str]:
    """Choose among the legacy code pages by how natural each decoding reads.

    charset-normalizer alone gets short files wrong: "Travail forcé" on a line of its own
    comes out as Mac Roman, or as nothing at all. So each candidate decodes the start of
    the file and is scored on mojibake signs (see `_mess_ratio`); the least messy one that
    decodes the whole file wins, ties going to the earlier and more common code page.
    Only when every decoding looks wrong is charset-normalizer asked, and if it has no
    answer either, the file is refused.
    """
    head = data[:_MESS_SAMPLE_CHARS]
    scored: list[tuple[float, int, str]] = []
    for rank, encoding in enumerate(LEGACY_CANDIDATES):
        try:
            sample = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        scored.append((_mess_ratio(sample), rank, encoding))
    for ratio, _, encoding in sorted(scored):
        if ratio > _MAX_MESS_RATIO:
            break
        try:
            return data.decode(encoding), codecs.lookup(encoding).name
        except UnicodeDecodeError:
            continue
    best = charset_normalizer.from_bytes(data, cp_isolation=list(LEGACY_CANDIDATES)).best()
    if best is None:
        raise _unreadable(filename, "it is neither UTF-8 nor a Windows code page")
    encoding = codecs.lookup(best.encoding).name
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        raise _unreadable(filename, "it is neither UTF-8 nor a Windows code page") from None


def _mess_ratio(text: str) -> float:
    """Mojibake signs per non-ASCII character in (a sample of) a decoding; 0 reads naturally.

    Signs: symbols that real text hardly uses ("‡", "Ž", "¶"), an accented capital right
    after a small letter ("forcÈ"), three accented Latin letters in a row ("ÇáÊ", Arabic
    read as Windows-1252), an Arabic letter touching a Latin one (French read as 1256).
    Only the runs of non-ASCII characters and their neighbours can show a sign, so only
    they are looked at.
    """
    sample = text[:_MESS_SAMPLE_CHARS]
    non_ascii = 0
    mess = 0
    for found in _NON_ASCII_RUN.finditer(sample):
        start, end = found.span()
        non_ascii += end - start
        previous = sample[start - 1] if start else " "
        run = 0
        for ch in found.group():
            latin = _is_accented_latin(ch)
            if ch in _RARE_SYMBOLS or "\x80" <= ch <= "\x9f":
                mess += 1
            if latin and ch.isupper() and previous.islower():
                mess += 1
            run = run + 1 if latin else 0
            if run >= 3:
                mess += 1
            if (_is_arabic(ch) and _is_latin_letter(previous)) or (
                _is_latin_letter(ch) and _is_arabic(previous)
            ):
                mess += 1
            previous = ch
        # the ASCII character after the run: a Latin letter right after an Arabic one
        if end < len(sample) and _is_latin_letter(sample[end]) and _is_arabic(previous):
            mess += 1
    return mess / non_ascii if non_ascii else 0.0


def _is_accented_latin(ch: str) -> bool:
    return "\u00c0" <= ch <= "\u024f" and ch not in "\u00d7\u00f7"


def _is_latin_letter(ch: str) -> bool:
    return (ch.isascii() and ch.isalpha()) or _is_accented_latin(ch)


def _is_arabic(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as a NUL in every other byte of ASCII-heavy text."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _check_is_text(text: str, filename: str) -> None:
    """Refuse binary data: by its share of control characters at the start, or any NUL."""
    sample = text[:65536]
    if not sample:
        return
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise _binary(filename)
    at = text.find("\x00")
    if at >= 0:
        # a NUL in text that reads as text otherwise: a damaged file, or binary pasted in
        raise NulCharacter(
            f"Line {_line_number(text, at)} of {filename} contains a NUL character (byte 0), "
            "which text files do not hold; the file may be damaged.",
            hint="open it in a text editor or Excel, check that line, and save it again",
            filename=filename,
            row=None,
        )


def _refuse_binary_bytes(data: bytes, filename: str) -> None:
    """Binary data (an image, an executable, random bytes) before any code page is tried."""
    sample = data[:65536]
    controls = sum(sample.count(b) for b in _CONTROL_BYTES)
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise _binary(filename)


def _binary(filename: str) -> UnsupportedFormat:
    return UnsupportedFormat(
        f"{filename} is not a text table: it contains binary data.",
        hint="upload CSV, Excel .xlsx/.xls, JSON or Parquet",
        filename=filename,
    )


def _unreadable(filename: str, why: str) -> UnreadableEncoding:
    return UnreadableEncoding(
        f"{filename} could not be decoded as text: {why}.",
        hint="save it again as 'CSV UTF-8': in Excel, File > Save As > CSV UTF-8",
        filename=filename,
    )
