"""Spot direct identifiers (e-mail, phone, ID number, name, birth date) in free text and headers.

Findings are reason codes, never the matched text: the point is to keep identifiers out
of the store, and a finding that quoted them would carry them into reports and logs.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator

import phonenumbers
from stdnum import iban

#: reason codes, in the order find_identifiers reports them
EMAIL = "email"
PHONE = "phone"
ID_NUMBER = "id_number"
PERSON_NAME = "person_name"
BIRTH_DATE = "birth_date"
REASONS: tuple[str, ...] = (EMAIL, PHONE, ID_NUMBER, PERSON_NAME, BIRTH_DATE)

#: further reason codes that only column headers give
ADDRESS = "address"
PHOTO = "photo"
GEOLOCATION = "geolocation"

#: where partners' cases and phone numbers come from: origin, transit and destination
#: countries of the Central Mediterranean and Sahel routes, plus the reporting offices
PHONE_REGIONS: tuple[str, ...] = (
    "FR", "GB", "US", "LY", "EG", "TN", "MA", "DZ", "NE", "NG", "ML", "TD", "SD", "ET", "IQ",
    "LB", "AF",
)  # fmt: skip

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")

# the cheap gate before phonenumbers (pure Python, so costly): seven digits at least
_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,3}){7}")
# a national-format match that is really an amount ("25 000 000") or a year-prefixed
# file number ("2021-0456"); international "+…" matches are never second-guessed
_AMOUNT = re.compile(r"\d{1,3}(?:[ .,\u00a0\u202f]\d{3})*[ .,\u00a0\u202f]000")
_YEAR_PREFIXED = re.compile(r"(?:19|20)\d\d[-/.]")

# passport / ID card like: 6 to 12 letters and digits, at least one letter and three digits
_MIXED_TOKEN = re.compile(r"(?<![\w-])(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{6,12}(?![\w-])")
# a number with its unit or ordinal ("1500USD", "12h30", "3eme") is not an ID
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:st|nd|rd|th|er|e|eme|ème|kg|km|cm|mm|ml|h|min|mn|ans|yrs|years|"
    r"usd|eur|lyd|egp|tnd|mad|dzd|xof|fcfa|cfa|dh|dt|dinars?)|\d{1,2}h\d{2}",
    re.IGNORECASE,
)
_LONG_DIGITS = re.compile(r"(?<!\d)\d{8,}(?!\d)")
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")

_CAPITALISED = r"(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]*(?:['\u2019-][A-ZÀ-ÖØ-Þa-zà-öø-ÿ]+)*|[A-ZÀ-ÖØ-Þ]{2,})"
_NAME = rf"{_CAPITALISED}(?:\s+{_CAPITALISED})*"
# "Nom : Aminata Diallo", "Mme Diallo", "a woman called Aminata", "s'appelle Aminata"
_PERSON_NAME = re.compile(
    r"(?:"
    r"\b(?i:name|full\s+name|first\s+name|last\s+name|surname|nom|pr[ée]nom|nom\s+complet|"
    r"nombre|apellidos?|nome|sobrenome)\s*[:=]\s*"
    r"|\b(?i:name\s+is|named|called|known\s+as|s['\u2019]appelle|nomm[ée]e?|d[ée]nomm[ée]e?|"
    r"se\s+llama|chama-se)\s+"
    r"|\b(?:Mr|Mrs|Ms|Miss|Mme|Mlle|Mmes|Sr|Sra|Dr)\.?\s+"
    r"|\bM\.\s*"
    r"|\b(?:Madame|Monsieur|Mademoiselle|Señor|Señora|Senhor|Senhora)\s+"
    r"|\b(?i:ism(?:uha|uhu|ha|hu|i)?)\s*[:=]?\s*"
    rf")(?:{_NAME})"
    r"|اسم\w*\s*[:\uff1a]?\s*[\u0600-\u06ff]{2,}"
)

_MONTHS = (
    r"(?:jan(?:uary|vier)?|feb(?:ruary)?|f[ée]v(?:rier)?|mar(?:ch|s)?|apr(?:il)?|avr(?:il)?|"
    r"may|mai|june?|juin|july?|juil(?:let)?|aug(?:ust)?|ao[uû]t|sept?(?:ember|embre)?|"
    r"oct(?:ober|obre)?|nov(?:ember|embre)?|dec(?:ember)?|d[ée]c(?:embre)?)\.?"
)
_FULL_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})"
    r"|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
    rf"|\d{{1,2}}(?:er)?\s+{_MONTHS}\s+\d{{4}}"
    rf"|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}})"
)
# the date may sit a few words after its marker: "né le 12/03/1990", "DOB: 1990-03-12"
_BIRTH_DATE = re.compile(
    r"(?:\bn[ée]e?\s*(?:\(e\))?\s+le|\bD\.?O\.?B\b\.?|\bdate\s+of\s+birth|\bbirth\s*date|"
    r"\bborn(?:\s+on)?|\bdate\s+de\s+naissance|\bfecha\s+de\s+nacimiento|\bnacid[oa]\s+el|"
    r"\bdata\s+de\s+nascimento|\bnascid[oa]\s+em|تاريخ\s+الميلاد|مواليد)"
    rf"[\s:=,]*(?:\S+\s+){{0,2}}?{_FULL_DATE}",
    re.IGNORECASE,
)


def find_identifiers(text: str) -> tuple[str, ...]:
    """Reason codes (in REASONS order) for the direct identifiers found in `text`.

    Tuned to over- rather than under-report, yet to let years, ages, amounts, decimal
    numbers and lone dates through: those are the substance of case data.
    """
    if not text or not text.strip():
        return ()
    found: set[str] = set()
    if "@" in text and _EMAIL.search(text):
        found.add(EMAIL)
    phone_spans = list(_phone_spans(text))
    if phone_spans:
        found.add(PHONE)
    if _has_id_number(text, phone_spans):
        found.add(ID_NUMBER)
    if _PERSON_NAME.search(text):
        found.add(PERSON_NAME)
    if _BIRTH_DATE.search(text):
        found.add(BIRTH_DATE)
    return tuple(r for r in REASONS if r in found)


def _phone_spans(text: str) -> Iterator[tuple[int, int]]:
    if not _SEVEN_DIGITS.search(text):
        return
    seen: set[tuple[int, int]] = set()
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        ):
            span = (match.start, match.end)
            if span in seen:
                continue
            raw = match.raw_string.strip()
            if not raw.startswith(("+", "00")) and (
                _AMOUNT.fullmatch(raw) or _YEAR_PREFIXED.match(raw) or _is_date_digits(raw)
            ):
                continue
            seen.add(span)
            yield span


def _has_id_number(text: str, phone_spans: list[tuple[int, int]]) -> bool:
    def in_phone(start: int, end: int) -> bool:
        return any(s <= start and end <= e for s, e in phone_spans)

    for m in _MIXED_TOKEN.finditer(text):
        token = m.group()
        if sum(ch.isdigit() for ch in token) >= 3 and not _NUMBER_WITH_UNIT.fullmatch(token):
            return True
    for m in _LONG_DIGITS.finditer(text):
        if not in_phone(m.start(), m.end()) and not _is_date_digits(m.group()):
            return True
    return any(iban.is_valid(m.group()) for m in _IBAN_CANDIDATE.finditer(text))


def _is_date_digits(raw: str) -> bool:
    """'20190312' or '12032019': eight digits that spell a plausible date."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) != 8:
        return False
    for year, month, day in (
        (digits[:4], digits[4:6], digits[6:]),
        (digits[4:], digits[2:4], digits[:2]),
        (digits[4:], digits[:2], digits[2:4]),
    ):
        if 1900 <= int(year) <= 2100:
            try:
                dt.date(int(year), int(month), int(day))
            except ValueError:
                continue
            return True
    return False


# --- column headers -------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that make a "name"/"address"/"number" column about a place or an organisation
# rather than a person: "Country name", "Nom du pays", "Organisation address".
_NOT_A_PERSON = _words(
    """
    country pays pais village city ville ciudad cidade town district region province state
    place lieu lugar location site organisation organization org partner agency ngo ong
    project projet proyecto file fichier field champ sheet school ecole company entreprise
    employer shelter centre center office bureau service programme program variable column
    event facility hospital border route destination origin transit nationality
    partenaire association structure commune quartier village region departement
    """
)
_CASE_QUALIFIERS = _words(
    "case cas caso dossier file fichier record row registro org partner upload form"
)

_HEADER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (BIRTH_DATE, r"\b(date (of )?birth|dob|birth ?date|birthday|date (de )?naissance|"
         r"ne le|nee le|fecha (de )?nacimiento|data (de )?nascimento|d ?o ?b)\b"),
        (EMAIL, r"\b(e ?mail|email address|courriel|mel|correo( electronico)?|"
         r"adresse (electronique|mail|email))\b"),
        (PHONE, r"\b(phone|telephone|tel|tele|mobile|cell|cellphone|portable|gsm|whatsapp|"
         r"telefono|telefone|celular|movil|contact (number|no|details|info|information)|"
         r"numero (de )?(telephone|tel|portable)|phone (number|no))\b"),
        # not bare "identity": "gender identity" is a field, not an identifier
        (ID_NUMBER, r"\b(passport|passeport|pasaporte|passaporte|national id|national identity|"
         r"id card|identity (card|number|document)|(carte|piece|numero|document) d ?identite|"
         r"carte nationale|documento de identidad|documento|cni|nin|nid|ssn|dni|cedula|nif|"
         r"social security|securite sociale|document (number|no)|numero (de )?document|"
         r"birth certificate|acte de naissance|id (number|no|num)|"
         r"national (number|no)|tax id)\b"),
        (ADDRESS, r"\b(address|adresse|direccion|endereco|domicile|domicilio|street|rue|"
         r"home address|residence address|postal address|po box|boite postale)\b"),
        (PHOTO, r"\b(photo|photograph|picture|image|signature|fingerprints?|biometrics?|"
         r"empreintes?)\b"),
        (GEOLOCATION, r"\b(gps|latitude|longitude|lat|lon|lng|coordinates|coordonnees|"
         r"geo ?point)\b"),
        (PERSON_NAME, r"\b(name|names|full ?name|first ?name|given ?name|last ?name|"
         r"family ?name|second ?name|middle ?name|maiden ?name|surname|nickname|alias|"
         r"nom|noms|prenoms?|surnom|nom complet|nom de famille|apellidos?|nome|nomes|"
         r"sobrenome|apelido|primeiro nome|kunya|laqab|ism)\b"),
    )
)  # fmt: skip
_SPANISH_NOMBRE = re.compile(
    r"^(nombres?( completo| y apellidos?)?|nombre (de la|del) .*|(primer|segundo) nombre)$"
)


def identifier_column_kind(name: str) -> str | None:
    """Which kind of direct identifier a column header names, or None.

    English, French, Spanish and Portuguese headers, any case, accents or separators
    ("Tél.", "prs_FirstName", "DATE_DE_NAISSANCE").
    """
    words = _normalise_header(name)
    if not words:
        return None
    tokens = set(words.split())
    for kind, pattern in _HEADER_PATTERNS:
        if not pattern.search(words):
            continue
        if kind in (PERSON_NAME, ADDRESS) and tokens & _NOT_A_PERSON:
            continue
        if kind == ID_NUMBER and tokens & _CASE_QUALIFIERS:
            continue
        return kind
    # Spanish "nombre" is a name, French "nombre de victimes" a count
    if _SPANISH_NOMBRE.match(words) and not tokens & _NOT_A_PERSON:
        return PERSON_NAME
    return None


def is_identifier_column(name: str) -> bool:
    """True if the header names a direct identifier (name, phone, e-mail, ID, birth date, …)."""
    return identifier_column_kind(name) is not None


def _normalise_header(name: str) -> str:
    # "prs_FirstName" → "prs first name"; "Tél." → "tel"; "Date_de_naissance" → "date de naissance"
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    folded = unicodedata.normalize("NFKD", spaced)
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", ascii_only).split())
