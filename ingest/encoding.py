"""Decode an uploaded text file: BOM, then strict UTF-8, then a few legacy code pages."""

from __future__ import annotations

import codecs

import charset_normalizer

from ingest.errors import UnreadableEncoding, UnsupportedFormat

# The legacy encodings partners actually send: Windows-1252 (French/English/Spanish/
# Portuguese Excel "CSV"), Windows-1256 (Arabic Excel), Mac Roman (old Mac Excel).
# Keeping the list short matters: every extra candidate is another way for a short French
# file to be "detected" as something that turns "forcé" into "forc┌".
LEGACY_CANDIDATES: tuple[str, ...] = ("cp1252", "cp1256", "mac_roman")

# A legacy decoding with more mojibake signs per non-ASCII character than this is wrong.
_MAX_MESS_RATIO = 0.2
_MESS_SAMPLE_CHARS = 256 * 1024
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


def decode_text(data: bytes, filename: str) -> tuple[str, str]:
    """Return (text, encoding name). The BOM, if any, is not part of the text.

    Raises UnreadableEncoding when no candidate decodes the bytes, and UnsupportedFormat
    when the bytes decode but are plainly not text (a binary file).
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
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _legacy(data, filename)


def _legacy(data: bytes, filename: str) -> tuple[str, str]:
    """Choose among the legacy code pages by how natural each decoding reads.

    charset-normalizer alone gets short files wrong: "Travail forcé" on a line of its own
    comes out as Mac Roman, or as nothing at all. So each candidate is decoded and scored
    on mojibake signs (see `_mess_ratio`); the least messy wins, ties going to the earlier and
    more common code page. Only when every decoding looks wrong is charset-normalizer
    asked, and if it has no answer either, the file is refused.
    """
    decoded: list[tuple[float, int, str, str]] = []
    for rank, encoding in enumerate(LEGACY_CANDIDATES):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        decoded.append((_mess_ratio(text), rank, text, encoding))
    if decoded:
        ratio, _, text, encoding = min(decoded)
        if ratio <= _MAX_MESS_RATIO:
            return text, codecs.lookup(encoding).name
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
    """
    sample = text[:_MESS_SAMPLE_CHARS]
    non_ascii = sum(1 for ch in sample if ord(ch) > 127)
    if not non_ascii:
        return 0.0
    mess = 0
    run = 0
    previous = " "
    for ch in sample:
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
    return mess / non_ascii


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
    sample = text[:65536]
    if not sample:
        return
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if "\x00" in sample or controls > _MAX_CONTROL_SHARE * len(sample):
        raise UnsupportedFormat(
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
