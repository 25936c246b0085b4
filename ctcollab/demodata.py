"""Generate four fictional partner case extracts, each in a real-world file shape, for demos."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook

from schemas.definition import SCHEMA

HERE = Path(__file__).parent
PARAMS_PATH = HERE / "demo_params.json"
MAPPINGS_DIR = HERE / "demo_mappings"

# Each file carries this many deliberately bad rows on top of its share of `records`:
# an impossible date, age "abc", age 230, a missing case id and a case id repeated.
BAD_ROWS_PER_FILE = 5
BAD_KINDS = ("date", "age_text", "age_range", "no_id", "repeated_id")

# Fixed timestamps so that the same seed gives byte-identical files.
EXPORTED_AT = datetime(2025, 1, 6, 8, 0, 0)
ZIP_TIMESTAMP = (2025, 1, 6, 8, 0, 0)


@dataclass(frozen=True)
class DemoOrg:
    """A fictional partner organisation the demo registers."""

    slug: str
    name: str
    country: str  # ISO alpha-3 of the office that keeps the register
    city: str


@dataclass(frozen=True)
class DemoExtract:
    """One generated partner file and the committed mapping that reads it."""

    org_slug: str
    org_name: str
    path: Path
    mapping: Path
    sheet: str | None


DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("espoir-sahel", "Association Espoir Sahel", "NER", "Niamey"),
    DemoOrg("northbridge", "Northbridge Anti-Slavery Network", "GBR", "London / Tripoli"),
    DemoOrg("safe-passage", "Safe Passage International", "TUN", "Tunis"),
    DemoOrg("al-amal", "Al-Amal Protection Office", "LBY", "Benghazi"),
)

# Partners that run a hotline as well as case management, and say in their file which one a
# case came from. The others' registers hold case-management cases only (their mappings
# state data_source: case_management as a constant), so their victims are drawn that way.
HOTLINE_PARTNERS = frozenset({"al-amal"})

# ISO alpha-3 -> (French CLDR name, English name, Arabic transliteration or None).
# Transliterations are spelled exactly as in schemas/synonyms/countries.yaml; where a
# country has none there, the Benghazi office writes the English name.
COUNTRY_NAMES: dict[str, tuple[str, str, str | None]] = {
    "AFG": ("Afghanistan", "Afghanistan", "Afghanistan"),
    "BFA": ("Burkina Faso", "Burkina Faso", None),
    "BGD": ("Bangladesh", "Bangladesh", "Bangladesh"),
    "CIV": ("Côte d'Ivoire", "Ivory Coast", None),
    "CMR": ("Cameroun", "Cameroon", None),
    "DZA": ("Algérie", "Algeria", "Al-Jazair"),
    "EGY": ("Égypte", "Egypt", "Misr"),
    "ERI": ("Érythrée", "Eritrea", "Iritriya"),
    "ESP": ("Espagne", "Spain", None),
    "ETH": ("Éthiopie", "Ethiopia", "Ithyubiya"),
    "FRA": ("France", "France", None),
    "GBR": ("Royaume-Uni", "United Kingdom", None),
    "GHA": ("Ghana", "Ghana", None),
    "GIN": ("Guinée", "Guinea", None),
    "IRQ": ("Irak", "Iraq", "Al-Iraq"),
    "ITA": ("Italie", "Italy", None),
    "LBN": ("Liban", "Lebanon", "Lubnan"),
    "LBY": ("Libye", "Libya", "Libiya"),
    "MAR": ("Maroc", "Morocco", "Al-Maghrib"),
    "MLI": ("Mali", "Mali", "Mali"),
    "MLT": ("Malte", "Malta", None),
    "NER": ("Niger", "Niger", "Al-Niger"),
    "NGA": ("Nigeria", "Nigeria", "Nayjiriya"),
    "SDN": ("Soudan", "Sudan", "Al-Sudan"),
    "SEN": ("Sénégal", "Senegal", None),
    "SOM": ("Somalie", "Somalia", "Al-Sumal"),
    "SYR": ("Syrie", "Syria", "Suriya"),
    "TCD": ("Tchad", "Chad", "Tshad"),
    "TUN": ("Tunisie", "Tunisia", "Tunis"),
}

# ---------------------------------------------------------------------------------------
# Partner vocabularies: how each partner writes a common-schema code. Most of these are
# recognised by the vocabulary synonyms; the few that are not are listed under `values:` in
# the partner's mapping (and the tests check both directions).

FR_GENDER = {"female": "Femme", "male": "Homme", "unknown": "Inconnu"}
FR_TYPES = {"forced_labour": "Travail forcé", "sexual_exploitation": "Exploitation sexuelle",
            "forced_marriage": "Mariage forcé", "other": "Autre"}
# Espoir Sahel records forced labour in begging as its own type of exploitation; the
# harmonizer reads a labour sector named in the type column as forced labour in that sector.
FR_FORCED_BEGGING = "Mendicité forcée"
FR_UNKNOWN_AGE = "Inconnu"
FR_LABOUR = {
    "agriculture": "Agriculture", "aquafarming": "Pêche", "begging": "Mendicité",
    "construction": "BTP", "domestic_work": "Travail domestique", "hospitality": "Restauration",
    "illicit_activities": "Activités illicites", "manufacturing": "Usine",
    "mining_or_drilling": "Orpaillage", "peddling": "Vente ambulante",
    "transportation": "Transport", "other": "Autre", "not_specified": "Non précisé",
}
FR_SEX = {"prostitution": "Prostitution", "pornography": "Pornographie",
          "remote_interactive_services": "Webcam",
          "private_sexual_services": "Servitude sexuelle"}
FR_CONTROL = {
    "debt_bondage": "Servitude pour dettes", "takes_earnings": "Confiscation du salaire",
    "restricts_financial_access": "Pas d'accès à l'argent", "threats": "Menaces",
    "psychological_abuse": "Violences psychologiques",
    "physical_abuse": "Violences physiques", "sexual_abuse": "Violences sexuelles",
    "false_promises": "Fausses promesses", "psychoactive_substances": "Drogues",
    "restricts_movement": "Séquestration", "restricts_medical_care": "Privation de soins",
    "excessive_working_hours": "Heures de travail excessives",
    "uses_children": "Menaces sur les enfants",
    "threat_of_law_enforcement": "Menace d'expulsion",
    "withholds_necessities": "Privation de nourriture",
    "withholds_documents": "Confiscation des documents", "other": "Autre",
    "not_specified": "Non précisé",
}
FR_RECRUITER = {"friend": "Ami", "family": "Famille", "intimate_partner": "Conjoint",
                "other": "Passeur", "unknown": "Inconnu"}
FR_UNKNOWN_CITIZENSHIP = "Inconnue"  # la nationalité: feminine
FR_UNKNOWN_COUNTRY = "Inconnu"  # le pays: masculine

EN_SEX_LETTER = {"female": "F", "male": "M", "unknown": "Unknown"}
EN_LABOUR = {
    "agriculture": "Agriculture", "aquafarming": "Fishing", "begging": "Begging",
    "construction": "Construction", "domestic_work": "Domestic work",
    "hospitality": "Hospitality", "illicit_activities": "Illicit activities",
    "manufacturing": "Manufacturing", "mining_or_drilling": "Mining",
    "peddling": "Street vending", "transportation": "Transport", "other": "Other",
    "not_specified": "Not specified",
}
EN_SEX = {"prostitution": "Prostitution", "pornography": "Pornography",
          "remote_interactive_services": "Webcam",
          "private_sexual_services": "Private sexual services"}
EN_CONTROL = {
    "debt_bondage": "Debt bondage", "takes_earnings": "Withheld wages",
    "restricts_financial_access": "No access to money", "threats": "Threats",
    "psychological_abuse": "Psychological abuse", "physical_abuse": "Physical abuse",
    "sexual_abuse": "Sexual abuse", "false_promises": "Deception",
    "psychoactive_substances": "Forced drug use", "restricts_movement": "Confinement",
    "restricts_medical_care": "Denied medical care", "excessive_working_hours": "Long hours",
    "uses_children": "Threats to children", "threat_of_law_enforcement": "Threat of deportation",
    "withholds_necessities": "No food", "withholds_documents": "Passport confiscated",
    "other": "Other", "not_specified": "Not specified",
}
EN_RECRUITER = {"friend": "Friend", "family": "Family member", "intimate_partner": "Partner",
                "other": "Agent", "unknown": "Unknown"}
EN_MAJORITY = {"adult": "Adult", "minor": "Minor", "unknown": "Unknown"}

# Casebook's own codes: mostly the vocabulary codes, with a few of the tool's own.
CB_LABOUR = {
    "agriculture": "agriculture", "aquafarming": "fishing", "begging": "begging",
    "construction": "construction", "domestic_work": "domestic_work",
    "hospitality": "hospitality", "illicit_activities": "illicit_activities",
    "manufacturing": "manufacturing", "mining_or_drilling": "mining",
    "peddling": "street_vending", "transportation": "transport", "other": "other",
    "not_specified": "not_specified",
}
CB_SEX = {"prostitution": "prostitution", "pornography": "pornography",
          "remote_interactive_services": "webcam",
          "private_sexual_services": "private_sexual_services"}
CB_CONTROL_OVERRIDES = {"debt_bondage": "debt", "restricts_movement": "movement_restricted"}
CB_RECRUITER = {"friend": "friend", "family": "family", "intimate_partner": "intimate_partner",
                "other": "smuggler", "unknown": "unknown"}
CB_UNKNOWN_COUNTRY = "UNK"
CB_UNKNOWN_AGE = "unknown"

AR_SOURCE = {"case_management": "Case management", "hotline": "Hotline"}
AR_GENDER = {"female": "Female", "male": "Male", "unknown": "Unknown"}
AR_TYPES = {"forced_labour": "Forced labour", "sexual_exploitation": "Sexual exploitation",
            "forced_marriage": "Forced marriage", "other": "Other"}
AR_OTHER_CONTROL = "Other"  # CTDC's label "Other means of control" is not what anyone types
AR_UNKNOWN_AGE = "Unknown"

# Fictional people: common first names and surnames of the region, combined at random.
FR_FIRST_NAMES = {
    "female": ("Aïcha", "Fatoumata", "Mariam", "Hadiza", "Zeinabou", "Kadidia", "Ramatou"),
    "male": ("Ousmane", "Ibrahim", "Moussa", "Amadou", "Souleymane", "Issa", "Boubacar"),
}
FR_LAST_NAMES = ("Diallo", "Traoré", "Maïga", "Abdou", "Hamani", "Soumana", "Keïta",
                 "Coulibaly", "Ouédraogo", "Adamou", "Garba", "Idrissa")
# The victims themselves: names of the routes' countries of origin, as they are spelled in
# the register that first wrote them down (accents and all; others fold them).
PERSON_FIRST_NAMES = {
    "female": (*FR_FIRST_NAMES["female"], "Amina", "Halima", "Salma", "Blessing", "Joy",
               "Hiwot", "Selam", "Fatima", "Nour", "Awa", "Esther", "Khadija"),
    "male": (*FR_FIRST_NAMES["male"], "Mohamed", "Ahmed", "Abdullahi", "Yonas", "Tesfaye",
             "Idris", "Chinedu", "Emeka", "Omar", "Youssef", "Lamine", "Sékou"),
}
PERSON_LAST_NAMES = (*FR_LAST_NAMES, "Osman", "Haile", "Tesfay", "Hassan", "Ali", "Okafor",
                     "Adeyemi", "Bah", "Camara", "Sow", "Touré", "Abdi", "Yusuf", "Eze")
FR_REMARKS = ("Orientée vers le centre de transit", "Suivi psychosocial en cours",
              "Demande de retour volontaire", "Hébergement temporaire",
              "Prise en charge médicale", "Référée à l'OIM", "Dossier transmis au juriste",
              "Attend ses documents de voyage")

NB_NOTES = (
    "About this extract",
    "Exported from the Northbridge case register for the counter-trafficking data "
    "collaborative.",
    "One row per identified victim; the column headers are on row 3 of the Cases sheet.",
    "Age group is the age at registration. Adult/Minor is filled even when the exact age "
    "is not known.",
    "Forced labour, Sexual exploitation, Forced marriage and Other exploitation are blank "
    "when the type of exploitation was not recorded.",
    "Names and dates of birth are included only for the collaborative's check for persons "
    "recorded twice; contact details and case notes are not part of this extract.",
)


# ---------------------------------------------------------------------------------------
# The latent case: one identified victim, in common-schema codes.

@dataclass(frozen=True)
class Case:
    """One fictional victim in common-schema codes, before a partner writes it down."""

    registered: date
    source: str
    gender: str
    age: int | None  # years at registration; None when not recorded or unknown
    age_unknown: bool  # asked but not known (band "unknown"), as opposed to not recorded
    majority: str | None
    citizenship: str | None  # ISO alpha-3, "unknown", or None (not recorded)
    exploited_in: str | None
    types: tuple[str, ...]  # () = not recorded
    labour: tuple[str, ...]
    sex: tuple[str, ...]
    control: tuple[str, ...]
    recruiter: tuple[str, ...]
    abducted: bool | None
    # Who the person is, as every partner that records them writes it down (each in its own
    # format): what the linkage keys are computed from. Never stored by the collaborative.
    first_name: str = ""
    last_name: str = ""
    birth: date | None = None

    @property
    def band(self) -> str | None:
        if self.age is None:
            return "unknown" if self.age_unknown else None
        return age_band_of(self.age)


@dataclass(frozen=True)
class Row:
    """A case as it sits in one partner's file: its local id and any deliberate defect."""

    case: Case
    local_id: str | None
    defect: str | None = None  # one of BAD_KINDS, or None for a good row
    duplicate: bool = False  # a copy of a case another partner also holds


class Categorical:
    """A fixed categorical distribution, drawn by inverse CDF (fast in a Python loop)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.keys = list(weights)
        p = np.asarray([float(weights[k]) for k in self.keys])
        self.cdf = np.cumsum(p / p.sum())

    def draw(self, rng: np.random.Generator) -> str:
        i = int(np.searchsorted(self.cdf, rng.random(), side="right"))
        return self.keys[min(i, len(self.keys) - 1)]


class Combinations:
    """A distribution over sets of codes (e.g. exploitation-type combinations)."""

    def __init__(self, combinations: Sequence[Mapping[str, Any]]) -> None:
        self.sets = [tuple(str(v) for v in c["values"]) for c in combinations]
        self.pick = Categorical({str(i): float(c["share"]) for i, c in enumerate(combinations)})

    def draw(self, rng: np.random.Generator) -> tuple[str, ...]:
        return self.sets[int(self.pick.draw(rng))]


class FlagGroup:
    """Multi-select flags: not recorded / not specified / independent rates per code."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        missing = float(spec["missing"])
        unspecified = float(spec["not_specified"])
        self.status = Categorical({"missing": missing, "not_specified": unspecified,
                                   "specified": max(0.0, 1 - missing - unspecified)})
        self.codes = list(spec["rates"])
        self.rates = np.asarray([float(spec["rates"][c]) for c in self.codes])
        self.fallback = Categorical(dict(zip(self.codes, self.rates, strict=True)))

    def draw(self, rng: np.random.Generator) -> tuple[str, ...]:
        status = self.status.draw(rng)
        if status == "missing":
            return ()
        if status == "not_specified":
            return ("not_specified",)
        hits = rng.random(len(self.codes)) < self.rates
        chosen = tuple(c for c, hit in zip(self.codes, hits, strict=True) if hit)
        # "Specified" means at least one value was ticked.
        return chosen or (self.fallback.draw(rng),)


@cache
def load_params(path: Path = PARAMS_PATH) -> dict[str, Any]:
    """The fitted demo parameters (see tools/fit_demo_params.py)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _bands() -> tuple[tuple[str, int, int], ...]:
    vocab = SCHEMA.vocabularies["age_band"]
    return tuple((v.code, int(v.extra["min"]), int(v.extra["max"]))
                 for v in vocab.values if not v.unknown)


def age_band_of(age: float) -> str:
    """The age_band code for an age in years (a fraction counts as the year it is in)."""
    years = int(age)
    for code, lo, hi in _bands():
        if lo <= years <= hi:
            return code
    raise ValueError("age outside every band")


class CaseModel:
    """Draws latent cases for one partner from the fitted shares and its country mix."""

    def __init__(self, params: Mapping[str, Any], partner: Mapping[str, Any], *,
                 hotline: bool = True) -> None:
        self.hotline = hotline
        self.years = Categorical(params["year_of_registration"]["shares"])
        self.source = Categorical(params["data_source"])
        self.gender = Categorical(params["gender"]["shares"])
        age = params["age_band"]
        self.band = Categorical({"missing": float(age["missing"]),
                                 **{k: (1 - float(age["missing"])) * float(v)
                                    for k, v in age["shares"].items()}})
        self.majority_unknown_band = Categorical(
            params["majority_status_given_age_band"]["unknown"])
        self.types = Combinations(params["exploitation_type"]["combinations"])
        self.control = {k: FlagGroup(v) for k, v in params["means_of_control_given_type"].items()}
        self.labour = FlagGroup(params["labour_type_given_forced_labour"])
        self.sex = FlagGroup(params["sex_exploitation_type_given_sexual_exploitation"])
        rec = params["recruiter_relation"]
        self.recruiter_missing = float(rec["missing"])
        self.recruiter = Combinations(rec["combinations"])
        self.abduction = Categorical(params["abduction"])
        self.citizenship = self._countries(params["citizenship"], partner["citizenship"])
        self.exploited_in = self._countries(params["country_of_exploitation"],
                                            partner["country_of_exploitation"])
        self.bands = {code: (lo, hi) for code, lo, hi in _bands()}

    @staticmethod
    def _countries(gaps: Mapping[str, float], weights: Mapping[str, float]) -> Categorical:
        known = 1 - float(gaps["unknown"]) - float(gaps["missing"])
        total = sum(float(w) for w in weights.values())
        return Categorical({"unknown": float(gaps["unknown"]), "missing": float(gaps["missing"]),
                            **{k: known * float(w) / total for k, w in weights.items()}})

    def registered(self, rng: np.random.Generator, year: int) -> date:
        start = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - start).days
        return start + timedelta(days=int(rng.integers(0, days)))

    def _source(self, rng: np.random.Generator) -> str:
        drawn = self.source.draw(rng)  # drawn either way, so the rest of the stream holds
        return drawn if self.hotline else "case_management"

    def draw(self, rng: np.random.Generator) -> Case:
        year = int(self.years.draw(rng))
        band = self.band.draw(rng)
        age: int | None = None
        majority: str | None = None
        if band == "unknown":
            majority = self.majority_unknown_band.draw(rng)
        elif band != "missing":
            lo, hi = self.bands[band]
            if hi > 100:
                # The open band (48+) thins out with age instead of running to its max.
                age = lo + min(int(rng.exponential(7.0)), 30)
            else:
                age = int(rng.integers(lo, hi + 1))
            majority = "minor" if hi < 18 else "adult"
        types = self.types.draw(rng)
        labour = self.labour.draw(rng) if "forced_labour" in types else ()
        sex = self.sex.draw(rng) if "sexual_exploitation" in types else ()
        fl, se = "forced_labour" in types, "sexual_exploitation" in types
        if fl and se:
            group = "forced_labour" if rng.random() < 0.5 else "sexual_exploitation"
        else:
            group = "forced_labour" if fl else "sexual_exploitation" if se else "other"
        recruiter = () if rng.random() < self.recruiter_missing else self.recruiter.draw(rng)
        abduction = self.abduction.draw(rng)
        citizenship = self.citizenship.draw(rng)
        exploited_in = self.exploited_in.draw(rng)
        return Case(
            registered=self.registered(rng, year),
            source=self._source(rng),
            gender=self.gender.draw(rng),
            age=age,
            age_unknown=band == "unknown",
            majority=majority,
            citizenship=None if citizenship == "missing" else citizenship,
            exploited_in=None if exploited_in == "missing" else exploited_in,
            types=types, labour=labour, sex=sex,
            control=self.control[group].draw(rng),
            recruiter=recruiter,
            abducted=None if abduction == "missing" else abduction == "yes",
        )


# ---------------------------------------------------------------------------------------
# Building the rows of every partner: shares, duplicates across partners, bad rows, ids.

def split_records(records: int, shares: Sequence[float]) -> list[int]:
    """Split `records` by `shares` exactly (largest remainders), so the parts sum to it."""
    raw = [records * s / sum(shares) for s in shares]
    counts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: records - sum(counts)]:
        counts[i] += 1
    return counts


IdFormat = Callable[[int, date], str]

ID_FORMATS: dict[str, IdFormat] = {
    "espoir-sahel": lambda n, d: f"AES-{d.year}-{n:04d}",
    "northbridge": lambda n, d: f"NB-{n:05d}",
    "safe-passage": lambda n, d: f"SPI-{n:05d}",
    "al-amal": lambda n, d: f"AMP/{d.year}/{n:04d}",
}
# Registers that restart their numbering every year.
IDS_PER_YEAR = {"espoir-sahel", "al-amal"}


def build_rows(records: int, seed: int, params: Mapping[str, Any] | None = None,
               ) -> dict[str, list[Row]]:
    """The rows of each partner's file, in file order (slug -> rows)."""
    if records < 0:
        raise ValueError("records must be zero or more")
    params = params or load_params()
    partners = params["partners"]
    slugs = [org.slug for org in DEMO_ORGS]
    counts = split_records(records, [float(partners[s]["share"]) for s in slugs])
    streams = np.random.SeedSequence(seed).spawn(len(slugs) + 1)
    cases: dict[str, list[Case]] = {}
    dup_flags: dict[str, list[bool]] = {}
    models: dict[str, CaseModel] = {}
    for slug, n, stream in zip(slugs, counts, streams, strict=False):
        rng = np.random.default_rng(stream)
        models[slug] = CaseModel(params, partners[slug], hotline=slug in HOTLINE_PARTNERS)
        cases[slug] = [models[slug].draw(rng) for _ in range(n + BAD_ROWS_PER_FILE)]
        dup_flags[slug] = [False] * len(cases[slug])

    # Who each person is comes from a stream of its own, so the cases themselves do not
    # depend on it; a copied duplicate keeps the person's name and birth date.
    people = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    taken: set[tuple[str, str, date]] = set()
    for slug in slugs:
        cases[slug] = [_with_person(c, people, taken) for c in cases[slug]]
    _add_duplicates(cases, dup_flags, counts, slugs, models,
                    np.random.default_rng(streams[-1]),
                    round(float(params["duplicates"]["share"]) * records))

    out: dict[str, list[Row]] = {}
    for slug, n, stream in zip(slugs, counts, streams, strict=False):
        rng = np.random.default_rng(stream.spawn(1)[0])
        out[slug] = _rows_with_ids(slug, cases[slug], dup_flags[slug], n, rng)
    return out


def _with_person(case: Case, rng: np.random.Generator,
                 taken: set[tuple[str, str, date]]) -> Case:
    """The case with a name and a date of birth that gives its age at registration (an
    adult's, drawn, when the age was not recorded). Two people never share both, so only the
    planted duplicates are the same person."""
    pool = PERSON_FIRST_NAMES.get(case.gender) or (
        PERSON_FIRST_NAMES["female"] + PERSON_FIRST_NAMES["male"])
    age = case.age if case.age is not None else int(rng.integers(18, 41))
    # Born between a year and a day before the birthday of `age` and that birthday.
    latest = _years_before(case.registered, age)
    earliest = _years_before(case.registered, age + 1) + timedelta(days=1)
    while True:
        first = pool[int(rng.integers(len(pool)))]
        last = PERSON_LAST_NAMES[int(rng.integers(len(PERSON_LAST_NAMES)))]
        birth = earliest + timedelta(days=int(rng.integers(0, (latest - earliest).days + 1)))
        if (first, last, birth) not in taken:
            taken.add((first, last, birth))
            return replace(case, first_name=first, last_name=last, birth=birth)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _add_duplicates(cases: dict[str, list[Case]], dup_flags: dict[str, list[bool]],
                    counts: Sequence[int], slugs: Sequence[str],
                    models: Mapping[str, CaseModel], rng: np.random.Generator,
                    wanted: int) -> None:
    """Overwrite `wanted` good rows with copies of another partner's case: same person, seen
    by two organisations (same attributes and year, its own registration date and id)."""
    # The last BAD_ROWS_PER_FILE cases of each partner become the bad rows; never touch them.
    free = {s: [i for i in range(n)] for s, n in zip(slugs, counts, strict=True)}
    for _ in range(wanted):
        sources = [s for s in slugs if free[s]]
        if len(sources) < 2:
            return
        a, b = rng.choice(len(sources), size=2, replace=False)
        src, dst = sources[int(a)], sources[int(b)]
        i = free[src].pop(int(rng.integers(len(free[src]))))
        j = free[dst].pop(int(rng.integers(len(free[dst]))))
        original = cases[src][i]
        if original.source != "case_management" and dst not in HOTLINE_PARTNERS:
            # The other register holds case-management cases only: so this person reached
            # both organisations through case management.
            original = cases[src][i] = replace(original, source="case_management")
        cases[dst][j] = replace(original, registered=models[dst].registered(
            rng, original.registered.year))
        dup_flags[src][i] = dup_flags[dst][j] = True


def _rows_with_ids(slug: str, cases: list[Case], dup_flags: list[bool], good: int,
                   rng: np.random.Generator) -> list[Row]:
    defects: list[str | None] = [None] * good + list(BAD_KINDS)
    order = sorted(range(len(cases)), key=lambda i: (cases[i].registered, i))
    fmt = ID_FORMATS[slug]
    rows: list[Row] = []
    seq: dict[int, int] = {}
    for i in order:
        case = cases[i]
        key = case.registered.year if slug in IDS_PER_YEAR else 0
        seq[key] = seq.get(key, 0) + 1
        rows.append(Row(case=case, local_id=fmt(seq[key], case.registered),
                        defect=defects[i], duplicate=dup_flags[i]))
    for k, row in enumerate(rows):
        if row.defect == "no_id":
            rows[k] = replace(row, local_id=None)
        elif row.defect == "repeated_id":
            # The id of a good row further up the file: a reader keeps the first row with an
            # id and quarantines the repeat, so the repeat is the bad row, not its donor.
            others = [r.local_id for r in rows[:k] if r.defect is None]
            if not others:
                others = [r.local_id for r in rows[k + 1:] if r.defect is None]
            donor = others[int(rng.integers(len(others)))] if others else _first_id(rows)
            rows[k] = replace(row, local_id=donor)
    return rows


def _first_id(rows: Sequence[Row]) -> str | None:
    return next((r.local_id for r in rows if r.defect == "date"), None)


# ---------------------------------------------------------------------------------------
# Writers: one per partner file shape.

def _join(codes: Sequence[str], labels: Mapping[str, str], sep: str) -> str:
    return sep.join(labels[c] for c in codes)


def _bad_age(row: Row) -> str | None:
    return {"age_text": "abc", "age_range": "230"}.get(row.defect or "")


def _fr_age(row: Row, rng: np.random.Generator) -> str:
    bad = _bad_age(row)
    if bad is not None:
        return bad
    age = row.case.age
    if age is None:
        return FR_UNKNOWN_AGE if row.case.age_unknown else ""
    # Some case workers note half years; only where it cannot change the band, so a rounding
    # harmonizer and a truncating one agree.
    if rng.random() < 0.08 and age_band_of(age + 1) == age_band_of(age):
        return f"{age},5"
    return str(age)


def _fr_country(code: str | None, unknown: str) -> str:
    if code is None:
        return ""
    return unknown if code == "unknown" else COUNTRY_NAMES[code][0]


def _fr_phone(rng: np.random.Generator) -> str:
    d = rng.integers(0, 10, size=7)
    return f"+227 9{d[0]} {d[1]}{d[2]} {d[3]}{d[4]} {d[5]}{d[6]}"


def _fr_name(rng: np.random.Generator, gender: str) -> str:
    pool = FR_FIRST_NAMES.get(gender) or FR_FIRST_NAMES["female"] + FR_FIRST_NAMES["male"]
    first = pool[int(rng.integers(len(pool)))]
    last = FR_LAST_NAMES[int(rng.integers(len(FR_LAST_NAMES)))]
    return f"{first} {last}"


def _fr_date(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


FR_COLUMNS = ("N° dossier", "Date d'enregistrement", "Nom", "Date de naissance", "Téléphone",
              "Sexe", "Âge",
              "Nationalité", "Pays d'exploitation", "Type d'exploitation",
              "Secteur d'activité", "Forme d'exploitation sexuelle", "Moyens de contrôle",
              "Lien avec le recruteur", "Enlèvement (oui/non)", "Montant dette (kEUR)",
              "Observations")


def write_espoir_sahel(rows: Sequence[Row], path: Path, rng: np.random.Generator) -> None:
    """French register: ';' CSV, Windows-1252, CRLF, dd/mm/yyyy, decimal commas, PII."""
    # A few remarks leak a phone number or a name: exactly which rows is part of the seed.
    n_leaks = max(2, round(0.015 * len(rows))) if rows else 0
    leaks = set(rng.choice(len(rows), size=min(n_leaks, len(rows)), replace=False).tolist())
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(FR_COLUMNS)
    for k, row in enumerate(rows):
        c = row.case
        d = c.registered
        when = f"31/02/{d.year}" if row.defect == "date" else d.strftime("%d/%m/%Y")
        types = [FR_FORCED_BEGGING if t == "forced_labour" and "begging" in c.labour
                 else FR_TYPES[t] for t in c.types]
        if k in leaks:
            remark = (f"Nom: {_fr_name(rng, 'unknown')}, contact au centre" if rng.random() < 0.5
                      else f"Rappeler au {_fr_phone(rng)}")
        elif rng.random() < 0.35:
            remark = FR_REMARKS[int(rng.integers(len(FR_REMARKS)))]
        else:
            remark = ""
        debt = (f"{rng.uniform(0.2, 4.0):.2f}".replace(".", ",")
                if "debt_bondage" in c.control else "")
        writer.writerow([
            row.local_id or "", when, f"{c.first_name} {c.last_name}", _fr_date(c.birth),
            _fr_phone(rng) if rng.random() < 0.6 else "",
            FR_GENDER[c.gender], _fr_age(row, rng),
            _fr_country(c.citizenship, FR_UNKNOWN_CITIZENSHIP),
            _fr_country(c.exploited_in, FR_UNKNOWN_COUNTRY),
            "; ".join(types), _join(c.labour, FR_LABOUR, "; "), _join(c.sex, FR_SEX, "; "),
            _join(c.control, FR_CONTROL, "; "), _join(c.recruiter, FR_RECRUITER, "; "),
            "" if c.abducted is None else ("Oui" if c.abducted else "Non"),
            debt, remark,
        ])
    path.write_bytes(buf.getvalue().encode("cp1252"))


NB_TITLE = "Northbridge Anti-Slavery Network — case extract"
NB_COLUMNS = ("Case ID", "Date registered", "Office", "Surname", "First name", "Date of birth",
              "Sex", "Age group", "Adult/Minor",
              "Nationality", "Country of exploitation", "Forced labour",
              "Sexual exploitation", "Forced marriage", "Other exploitation", "Labour sector",
              "Sexual exploitation type", "Control methods", "Recruited by", "Abducted")


def _en_country(code: str | None) -> str:
    if code is None:
        return ""
    return "Unknown" if code == "unknown" else COUNTRY_NAMES[code][1]


def _yes_no(recorded: bool, value: bool) -> str:
    return ("Yes" if value else "No") if recorded else ""


def write_northbridge(rows: Sequence[Row], path: Path, rng: np.random.Generator) -> None:
    """English workbook: title row, blank row, header on row 3, Excel dates, a Notes sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook always has one sheet
    ws.title = "Cases"
    ws.append([NB_TITLE])
    ws.append([])
    ws.append(list(NB_COLUMNS))
    for row in rows:
        c = row.case
        recorded = bool(c.types)
        band = c.band
        age_group = _bad_age(row) or ("" if band is None else
                                      "Unknown" if band == "unknown" else band)
        ws.append([
            row.local_id, f"30/02/{c.registered.year}" if row.defect == "date" else c.registered,
            "Tripoli" if rng.random() < 0.7 else "London",
            # The register writes surnames in capitals.
            c.last_name.upper(), c.first_name, c.birth,
            EN_SEX_LETTER[c.gender], age_group,
            EN_MAJORITY.get(c.majority or "", ""),
            _en_country(c.citizenship), _en_country(c.exploited_in),
            _yes_no(recorded, "forced_labour" in c.types),
            _yes_no(recorded, "sexual_exploitation" in c.types),
            _yes_no(recorded, "forced_marriage" in c.types),
            _yes_no(recorded, "other" in c.types),
            _join(c.labour, EN_LABOUR, ", "), _join(c.sex, EN_SEX, ", "),
            _join(c.control, EN_CONTROL, ", "), _join(c.recruiter, EN_RECRUITER, ", "),
            "" if c.abducted is None else ("Yes" if c.abducted else "No"),
        ])
        for column in (2, NB_COLUMNS.index("Date of birth") + 1):
            date_cell = ws.cell(row=ws.max_row, column=column)
            if isinstance(date_cell.value, (date, datetime)):
                date_cell.number_format = "dd/mm/yyyy"
    notes = wb.create_sheet("Notes")
    for line in NB_NOTES:
        notes.append([line])
    wb.properties.creator = "Northbridge case register"
    wb.properties.created = EXPORTED_AT
    wb.properties.modified = EXPORTED_AT
    raw = io.BytesIO()
    wb.save(raw)
    _write_reproducible_zip(raw.getvalue(), path)


def _fixed_modified(xml: bytes) -> bytes:
    # openpyxl sets dcterms:modified to the wall clock on save, whatever the properties say.
    stamp = EXPORTED_AT.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                  rb"\g<1>" + stamp + rb"\g<2>", xml)


def _write_reproducible_zip(data: bytes, path: Path) -> None:
    """Re-pack an .xlsx with fixed timestamps (openpyxl stamps the wall clock)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIMESTAMP)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _fixed_modified(content)
            dst.writestr(member, content)
    path.write_bytes(out.getvalue())


def _cb_country(code: str | None) -> str | None:
    return CB_UNKNOWN_COUNTRY if code == "unknown" else code


def _cb_list(codes: Sequence[str], labels: Mapping[str, str]) -> list[str] | None:
    # null, not [], when nothing was recorded: an empty list would read as "none of these".
    return [labels.get(x, x) for x in codes] or None


def write_safe_passage(rows: Sequence[Row], path: Path, rng: np.random.Generator) -> None:
    """Casebook JSON export: nested victim/exploitation objects, arrays, ISO3, nulls."""
    cases: list[dict[str, Any]] = []
    for row in rows:
        c = row.case
        # Casebook's age field takes "unknown" when the victim was asked and could not say;
        # null means it was not recorded.
        victim: dict[str, Any] = {"name": {"given": c.first_name, "family": c.last_name},
                                  "date_of_birth": c.birth.isoformat() if c.birth else None,
                                  "gender": c.gender,
                                  "age": CB_UNKNOWN_AGE if c.age_unknown else c.age,
                                  "citizenship": _cb_country(c.citizenship)}
        bad = _bad_age(row)
        if bad is not None:
            victim["age"] = bad if row.defect == "age_text" else int(bad)
        elif c.age is not None and rng.random() < 0.12:
            # Some case workers record a birth year instead of an age.
            victim["age"] = None
            victim["birth_year"] = c.registered.year - c.age
        registered = c.registered.isoformat()
        if row.defect == "date":
            registered = f"{c.registered.year}-02-30"
        cases.append({
            "id": row.local_id,
            "registered": registered,
            "victim": victim,
            "exploitation": {
                "country": _cb_country(c.exploited_in),
                "types": _cb_list(c.types, {}),
                "sectors": _cb_list(c.labour, CB_LABOUR),
                "sexual": _cb_list(c.sex, CB_SEX),
                "control": _cb_list(c.control, CB_CONTROL_OVERRIDES),
                "abducted": c.abducted,
            },
            "recruiter": _cb_list(c.recruiter, CB_RECRUITER),
        })
    doc = {
        "export": {"tool": "Casebook", "version": "3.2",
                   "generated": EXPORTED_AT.isoformat() + "Z",
                   "organisation": "Safe Passage International", "count": len(cases)},
        "cases": cases,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


AR_COLUMNS = ("File No", "Registration date", "Office", "Name", "Date of birth", "Source",
              "Gender", "Age",
              "Nationality", "Country of exploitation", "Exploitation type", "Work sector",
              "Sexual exploitation form", "Control means", "Recruiter", "Abducted")


def _ar_country(code: str | None) -> str:
    if code is None:
        return ""
    if code == "unknown":
        return "Unknown"
    _, english, transliterated = COUNTRY_NAMES[code]
    return transliterated or english


def _ar_name(case: Case) -> str:
    """Family name first, in capitals, without accents: how the Benghazi office types names."""
    name = f"{case.last_name} {case.first_name}".upper()
    return "".join(ch for ch in unicodedata.normalize("NFKD", name)
                   if not unicodedata.combining(ch))


def _labels(vocabulary: str) -> dict[str, str]:
    return SCHEMA.vocabularies[vocabulary].label_of()


def write_al_amal(rows: Sequence[Row], path: Path, rng: np.random.Generator) -> None:
    """Benghazi office: ',' CSV in UTF-8, ISO dates, English labels, transliterated countries."""
    labour, sex = _labels("labour_type"), _labels("sex_exploitation_type")
    control = {**_labels("means_of_control"), "other": AR_OTHER_CONTROL}
    recruiter = _labels("recruiter_relation")
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(AR_COLUMNS)
    for row in rows:
        c = row.case
        when = f"{c.registered.year}-02-30" if row.defect == "date" else c.registered.isoformat()
        age = _bad_age(row) or (str(c.age) if c.age is not None
                                else AR_UNKNOWN_AGE if c.age_unknown else "")
        writer.writerow([
            row.local_id or "", when, "بنغازي", _ar_name(c),
            "" if c.birth is None else c.birth.strftime("%d-%m-%Y"),
            AR_SOURCE[c.source], AR_GENDER[c.gender], age,
            _ar_country(c.citizenship), _ar_country(c.exploited_in),
            _join(c.types, AR_TYPES, "; "), _join(c.labour, labour, "; "),
            _join(c.sex, sex, "; "), _join(c.control, control, "; "),
            _join(c.recruiter, recruiter, "; "),
            "" if c.abducted is None else ("Yes" if c.abducted else "No"),
        ])
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


Writer = Callable[[Sequence[Row], Path, np.random.Generator], None]

FILES: dict[str, tuple[str, str | None, Writer]] = {
    "espoir-sahel": ("espoir-sahel_registre.csv", None, write_espoir_sahel),
    "northbridge": ("northbridge_cases.xlsx", "Cases", write_northbridge),
    "safe-passage": ("safe-passage_casebook.json", None, write_safe_passage),
    "al-amal": ("al-amal_cases.csv", None, write_al_amal),
}


def mapping_path(slug: str) -> Path:
    """The committed mapping that reads a demo partner's file."""
    return MAPPINGS_DIR / f"{slug}.yaml"


def generate(outdir: Path, records: int = 2000, seed: int = 7) -> list[DemoExtract]:
    """Write the four partner extracts into `outdir`; same seed, same bytes.

    `records` is the number of good rows over all partners (split 35/25/25/15); each file
    adds BAD_ROWS_PER_FILE deliberately bad rows, and about 3% of the good rows are the same
    person recorded by two partners.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rows = build_rows(records, seed)
    # Writers draw cosmetic detail (names, remarks, offices) from their own stream, so the
    # cases themselves do not depend on how a file is laid out.
    streams = np.random.SeedSequence([seed, 1]).spawn(len(DEMO_ORGS))
    extracts: list[DemoExtract] = []
    for org, stream in zip(DEMO_ORGS, streams, strict=True):
        filename, sheet, writer = FILES[org.slug]
        path = outdir / filename
        writer(rows[org.slug], path, np.random.default_rng(stream))
        extracts.append(DemoExtract(org_slug=org.slug, org_name=org.name, path=path,
                                    mapping=mapping_path(org.slug), sheet=sheet))
    return extracts
