"""Test material for HTCDS: generated cases with planted PII, writers that fill the real
templates, readers of the standard's own files, and expectations stated independently of
the crosswalk (so a wrong crosswalk entry fails a test instead of confirming itself)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd

HTCDS_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "htcds"
PLAIN_TEMPLATE = HTCDS_DIR / "HTCDS_Excel_Spreadsheet_v2.0.xlsx"
VALIDATION_TEMPLATE = HTCDS_DIR / "HTCDS_Excel_Spreadsheet_single_select_with_validation_v2.0.xlsx"
XLSFORM = HTCDS_DIR / "htcds_xlsform.xlsx"
FIELD_STANDARD = HTCDS_DIR / "HTCDS_Field_Standards_2.0.ods"
FIELD_DEFINITIONS = HTCDS_DIR / "Field_Definitions.md"
STANDARD_FILES = (PLAIN_TEMPLATE, VALIDATION_TEMPLATE, XLSFORM, FIELD_STANDARD, FIELD_DEFINITIONS)

# --- expectations, written out by hand from the standard and the common schema ------------

GENDER = {  # HTCDS name -> (label, common code)
    "Feminine": ("Feminine", "female"),
    "Masculine": ("Masculine", "male"),
    "TransgenderFeminine": ("Transgender Feminine", "transgender"),
    "TransgenderMasculine": ("Transgender Masculine", "transgender"),
    "NonConforming": ("Non-Conforming", "transgender"),
    "NonSpecifiedUnknown": ("Not Specified/Unknown", "unknown"),
}
EXPLOITATION = {  # HTCDS name -> (label, exploitation flag, implied labour flag)
    "ForcedLabour": ("Forced labour", "is_forced_labour", None),
    "SexualExploitation": ("Sexual exploitation", "is_sexual_exploit", None),
    "ChildLabour": ("Child labour", "is_other_exploit", None),
    "ForcedMarriage": ("Forced marriage", "is_forced_marriage", None),
    "Servitude": ("Servitude", "is_other_exploit", None),
    "ForcedMilitaryByNonStateActors": ("Forced military (by non-state actors)",
                                       "is_forced_military", None),
    "OrganRemoval": ("Organ removal", "is_organ_removal", None),
    "ForcedBegging": ("Forced begging", "is_forced_labour", "type_of_labour_begging"),
    "ForcedAdoption": ("Forced adoption", "is_other_exploit", None),
    "Surrogacy": ("Surrogacy", "is_other_exploit", None),
    "Other": ("Other", "is_other_exploit", None),
}
OTHER_EXPLOITATION = ("ChildLabour", "Servitude", "ForcedAdoption", "Surrogacy", "Other")
METHODS = {  # HTCDS name -> (label, means-of-control flag)
    "PhysicalThreats": ("Physical threats", "means_of_control_threats"),
    "ThreatsLawEnforcement": ("Threats of law enforcement",
                              "means_of_control_threat_of_law_enforcement"),
    "ThreatensChildrenFamily": ("Threatens children/family", "means_of_control_threats"),
    "DebtBondage": ("Debt bondage", "means_of_control_debt_bondage"),
    "FalsePromises": ("False promises", "means_of_control_false_promises"),
    "PhysicalAbuse": ("Physical abuse", "means_of_control_physical_abuse"),
    "SexualAbuse": ("Sexual abuse", "means_of_control_sexual_abuse"),
    "TakesEarnings": ("Takes earnings", "means_of_control_takes_earnings"),
    "RestrictsFinancialAccess": ("Restricts financial access",
                                 "means_of_control_restricts_financial_access"),
    "RestrictsMedicalCare": ("Restricts medical care", "means_of_control_restricts_medical_care"),
    "WithholdsNecessities": ("Withholds necessities", "means_of_control_withholds_necessities"),
    "PsychologicalAbuse": ("Psychological abuse", "means_of_control_psychological_abuse"),
    "PsychoactiveSubstance": ("Psychoactive substance",
                              "means_of_control_psychoactive_substances"),
    "ExcessiveWorkingHours": ("Excessive working hours",
                              "means_of_control_excessive_working_hours"),
    "WithholdsDocuments": ("Withholds documents", "means_of_control_withholds_documents"),
    "Other": ("Other", "means_of_control_other"),
}
INDUSTRIES = {  # HTCDS name -> (label, labour flag)
    "A_AgricultureForestryAndFishing": ("Agriculture, forestry and fishing",
                                        "type_of_labour_agriculture"),
    "B_MiningAndQuarrying": ("Mining and quarrying", "type_of_labour_mining_or_drilling"),
    "C_Manufacturing": ("Manufacturing", "type_of_labour_manufacturing"),
    "D_ElectricityGasSteamAndAirConditioningSupply": (
        "Electricity, gas, steam and air conditioning supply", "type_of_labour_other"),
    "E_WaterSupplySewerageWasteManagement": (
        "Water supply; sewerage, waste management and remediation", "type_of_labour_other"),
    "F_Construction": ("Construction", "type_of_labour_construction"),
    "G_WholesaleAndRetailTradeRepairOfMotorVehicles": (
        "Wholesale and retail trade; repair of motor vehicles and motorcycles",
        "type_of_labour_other"),
    "H_TransportationAndStorage": ("Transportation and storage", "type_of_labour_transportation"),
    "I_AccommodationAndFoodServiceActivities": ("Accommodation and food service activities",
                                                "type_of_labour_hospitality"),
    "J_InformationAndCommunication": ("Information and communication", "type_of_labour_other"),
    "K_FinancialAndInsuranceActivities": ("Financial and insurance activities",
                                          "type_of_labour_other"),
    "L_RealEstateActivities": ("Real estate activities", "type_of_labour_other"),
    "M_ProfessionalScientificAndTechnicalActivities": (
        "Professional, scientific and technical activities", "type_of_labour_other"),
    "N_AdministrativeAndSupportServiceActivities": (
        "Administrative and support service activities", "type_of_labour_other"),
    "O_PublicAdministrationAndDefence": (
        "Public administration and defence; compulsory social security", "type_of_labour_other"),
    "P_Education": ("Education", "type_of_labour_other"),
    "Q_HumanHealthAndSocialWorkActivities": ("Human health and social work activities",
                                             "type_of_labour_other"),
    "R_ArtsEntertainmentAndRecreation": ("Arts, entertainment and recreation",
                                         "type_of_labour_other"),
    "S_OtherServiceActivities": ("Other service activities", "type_of_labour_other"),
    "T_ActivitiesOfHouseholdsAsEmployers": (
        "Activities of households as employers; undifferentiated goods- and services- producing "
        "activities of households for own use", "type_of_labour_domestic_work"),
    "U_ActivitiesOfExtraterritorialOrganizations": (
        "Activities of extraterritorial organizations and bodies", "type_of_labour_other"),
}
SEX_TYPES = {  # HTCDS name -> (label, sexual-exploitation flag)
    "Prostitution": ("Prostitution", "type_of_sex_prostitution"),
    "Pornography": ("Pornography", "type_of_sex_pornography"),
    "RemoteInteractiveServices": ("Remote Interactive Services",
                                  "type_of_sex_remote_interactive_services"),
    "PrivateSexualServices": ("Private Sexual Services", "type_of_sex_private_sexual_services"),
}
STATUS_LABEL = {
    "ActualVictimOfTrafficking": "Actual victim of trafficking",
    "PossibleVictimOfTrafficking": "Possible victim of trafficking",
    "NotAVictimOfTrafficking": "Not a victim of trafficking",
}
COUNTRIES = (  # alpha-2, the templates' name, ISO alpha-3
    ("NG", "Nigeria", "NGA"), ("LY", "Libya", "LBY"), ("TR", "Turkey", "TUR"),
    ("CD", "Congo, Democratic Republic of the", "COD"), ("CI", "Côte d'Ivoire", "CIV"),
    ("ML", "Mali", "MLI"), ("NE", "Niger", "NER"), ("ER", "Eritrea", "ERI"),
    ("GB", "United Kingdom of Great Britain and Northern Ireland", "GBR"),
)
AGE_BANDS = ((0, 8, "0-8"), (9, 17, "9-17"), (18, 20, "18-20"), (21, 23, "21-23"),
             (24, 26, "24-26"), (27, 29, "27-29"), (30, 38, "30-38"), (39, 47, "39-47"),
             (48, 130, "48+"))
EXPLOITATION_FLAGS = ("is_forced_labour", "is_sexual_exploit", "is_other_exploit",
                      "is_forced_marriage", "is_forced_military", "is_organ_removal")
#: the submission time every generated XLSForm record carries
SUBMITTED = datetime(2024, 2, 1, 10, 0, 0)

# --- generated cases ----------------------------------------------------------------------

FIRST = ("Amina", "Blessing", "Fatoumata", "Ibrahima", "Mariam", "Oluwaseun", "Grace", "Yusuf")
SECOND = ("Okafor", "Diallo", "Traoré", "Mensah", "Haddad", "Abubakar", "Nwosu", "Kamara")
WORKERS = ("Halima Sowande", "Peter Achterberg", "Nadia Belkacem")


@dataclass(frozen=True)
class Case:
    """One generated case: what a case worker typed, PII included."""

    n: int
    salutation: str
    first_name: str
    second_name: str
    title: str
    email: str
    home_phone: str
    mobile_phone: str
    street: str
    city: str
    state: str
    postal_code: str
    mailing_country: str
    birth: date | None
    case_date: date | None
    gender: str
    citizenship: tuple[str, str, str] | None
    consent: bool | None
    status: str
    methods: tuple[str, ...]
    exploitation: tuple[str, ...]
    industries: tuple[str, ...]
    sex_types: tuple[str, ...]
    exploited_in: tuple[str, str, str] | None
    exploited_in_city: bool
    case_worker: str
    referral_details: str
    uuid: str

    @property
    def eligible(self) -> bool:
        return self.consent is True and self.status != "NotAVictimOfTrafficking"

    @property
    def pii(self) -> tuple[str, ...]:
        """Every identifying string planted in this case."""
        dates: tuple[str, ...] = ()
        if self.birth is not None:
            b = self.birth
            dates = (b.isoformat(), f"{b.day:02d}/{b.month:02d}/{b.year}")
        return (f"{self.first_name} {self.second_name}", self.first_name, self.second_name,
                self.email, self.home_phone, self.mobile_phone, self.street,
                self.postal_code, self.case_worker, self.referral_details, *dates)


def generate(count: int = 48) -> list[Case]:
    """Deterministic cases covering every value of the mapped picklists among the
    eligible ones, with some refusing consent, some without consent recorded and some
    "not a victim"."""
    genders = list(GENDER)
    methods = list(METHODS)
    kinds = list(EXPLOITATION)
    industries = list(INDUSTRIES)
    sex = list(SEX_TYPES)
    cases = []
    for i in range(count):
        first, second = FIRST[i % 8], SECOND[(i * 3 + i // 8) % 8]
        consent: bool | None = False if i % 7 == 3 else None if i % 12 == 5 else True
        status = ("NotAVictimOfTrafficking" if i % 5 == 4 else
                  "ActualVictimOfTrafficking" if i % 2 else "PossibleVictimOfTrafficking")
        case_date = None if i % 13 == 7 else date(2018 + i % 6, 1 + i % 12, 1 + (i * 5) % 28)
        year = (case_date or date(2020, 6, 1)).year
        birth = (None if i % 9 == 2 else
                 date(year - (6 + (i * 7) % 50), 1 + (i * 5) % 12, 1 + (i * 11) % 28))
        exploitation = tuple(dict.fromkeys((kinds[i % len(kinds)],
                                            *(("SexualExploitation",) if i % 3 == 0 else ()))))
        cases.append(Case(
            n=i + 1,
            salutation="Ms" if i % 2 else "Mr",
            first_name=first,
            second_name=f"{second}-{chr(65 + i % 26)}{i}",
            title="Seamstress",
            email=f"{first.lower()}.{second.lower()}{i}@example.org",
            home_phone=f"+234 80{i % 10} 555 {1000 + i}",
            mobile_phone=f"+218 91 {200 + i} {4400 + i}",
            street=f"{10 + i} Rue des Palmiers",
            city="Agadez",
            state="Agadez Region",
            postal_code=f"BP {7000 + i}",
            mailing_country="NE",
            birth=birth,
            case_date=case_date,
            gender=genders[i % len(genders)],
            citizenship=None if i % 10 == 7 else COUNTRIES[i % len(COUNTRIES)],
            consent=consent,
            status=status,
            methods=tuple(dict.fromkeys((methods[i % 16], methods[(i * 7 + 3) % 16]))),
            exploitation=exploitation,
            industries=(tuple(dict.fromkeys((industries[i % 21], industries[(i + 5) % 21])))
                        if i % 4 != 3 else ()),
            sex_types=(sex[i % 4],) if "SexualExploitation" in exploitation else (),
            exploited_in=None if i % 8 == 6 else COUNTRIES[(i + 1) % len(COUNTRIES)],
            exploited_in_city=i % 4 == 1,
            case_worker=WORKERS[i % 3],
            referral_details=f"Referred by {WORKERS[(i + 1) % 3]}, call +234 803 555 {2000 + i}",
            uuid=f"uuid:7f3c{i:04d}-1b2a-4c5d-9e8f-0a1b2c3d4e5f",
        ))
    return cases


def single_select(case: Case) -> Case:
    """What fits the validation template, whose drop-downs take one value each."""
    return dataclasses.replace(case, methods=case.methods[:1], exploitation=case.exploitation[:1],
                               industries=case.industries[:1],
                               sex_types=case.sex_types[:1] if "SexualExploitation"
                               in case.exploitation[:1] else ())


# --- expected harmonised values -----------------------------------------------------------


def age_band(age: int) -> str:
    return next(code for lo, hi, code in AGE_BANDS if lo <= age <= hi)


def compare_cases(cases: Iterable[Case], stored: pd.DataFrame, key_of: Callable[[Case], str],
                  case_date: Callable[[Case], date | None]) -> int:
    """Assert every case's stored row (``stored`` indexed by case key) holds its expected
    values, field by field; returns how many values were compared."""
    compared = 0
    for c in cases:
        row = stored.loc[key_of(c)]
        for name, value in expected(c, case_date(c)).items():
            got = row[name]
            if value is None:
                assert pd.isna(got), (c.n, name, got)
            else:
                assert not pd.isna(got) and got == value, (c.n, name, got, value)
            compared += 1
    return compared


def expected(case: Case, case_date: date | None) -> dict[str, object]:
    """The harmonised values of one case (None: not supplied)."""
    out: dict[str, object] = {
        "data_source": "case_management",
        "year_of_registration": case_date.year if case_date else None,
        "gender": GENDER[case.gender][1],
        "citizenship": case.citizenship[2] if case.citizenship else None,
        "country_of_exploitation": case.exploited_in[2] if case.exploited_in else None,
        "age_broad": None, "majority_status": None,
    }
    if case.birth is not None and case_date is not None:
        b = case.birth
        age = case_date.year - b.year - ((case_date.month, case_date.day) < (b.month, b.day))
        out["age_broad"] = age_band(age)
        out["majority_status"] = "adult" if age >= 18 else "minor"
    flags: dict[str, bool | None] = {}
    listed = {EXPLOITATION[k][1] for k in case.exploitation}
    for flag in EXPLOITATION_FLAGS:
        flags[flag] = flag in listed if case.exploitation else None
    if case.exploitation:
        flags["is_sex_and_labour"] = ("is_forced_labour" in listed
                                      and "is_sexual_exploit" in listed)
    listed_methods = {METHODS[m][1] for m in case.methods}
    for _, flag in METHODS.values():
        flags[flag] = flag in listed_methods if case.methods else None
    # Labour and sexual-exploitation flags: those set (see test_unlisted_... for the others)
    for k in case.industries:
        flags[INDUSTRIES[k][1]] = True
    for k in case.exploitation:
        if EXPLOITATION[k][2]:
            flags[str(EXPLOITATION[k][2])] = True
    for k in case.sex_types:
        flags[SEX_TYPES[k][1]] = True
    out.update(flags)
    return out


# --- writing the real templates -----------------------------------------------------------


def _consent_cell(case: Case) -> object:
    if case.consent is None:
        return None
    choices: tuple[object, ...] = ((True, "Yes", "TRUE", "1", "x") if case.consent
                                   else (False, "No", "FALSE", "0"))
    return choices[case.n % len(choices)]


def fill_template(template: Path, cases: list[Case], out: Path, *, labels: bool,
                  text_dates: bool) -> Path:
    """The real template with cases written under its header rows (row 3 on), saved to out.

    labels: write picklist labels (as the validation template's drop-downs do) rather than
    value names; multi-select values are joined with ";" as the multi-select template does.
    text_dates: dates typed as dd/mm/yyyy text rather than date cells.
    """
    wb = openpyxl.load_workbook(template)
    ws = wb.worksheets[0]
    names = [c.value for c in ws[1]]
    col = {str(n): i + 1 for i, n in enumerate(names) if n}

    def pick(table: Mapping[str, tuple[str, str | None] | tuple[str, str, str | None]],
             key: str) -> str:
        return table[key][0] if labels else key

    def when(d: date | None) -> object:
        if d is None:
            return None
        return f"{d.day:02d}/{d.month:02d}/{d.year}" if text_dates else d

    for case in cases:
        row = case.n + 2  # the template numbers its rows from 1 in row 3
        assert ws.cell(row=row, column=1).value == case.n
        citizenship = (None if case.citizenship is None else
                       case.citizenship[1] if labels or case.n % 2 else case.citizenship[0])
        exploited_in = None
        if case.exploited_in is not None:
            exploited_in = (f"Sabha, {case.exploited_in[1]}" if case.exploited_in_city
                            else case.exploited_in[1])
        values: dict[str, object] = {
            "cas_CaseOwner": case.case_worker,
            "prs_Salutation": case.salutation,
            "prs_FirstName": case.first_name,
            "prs_SecondName": case.second_name,
            "con_Consent": _consent_cell(case),
            "prs_Birthdate": when(case.birth),
            "prs_Gender": case.gender,  # the validation list holds value names
            "prs_Citizenship": citizenship,
            "prs_Title": case.title,
            "prs_Email": case.email,
            "prs_HomePhone": case.home_phone,
            "prs_MobilePhone": case.mobile_phone,
            "prs_MailingCity": case.city,
            "prs_MailingCountry": case.mailing_country,
            "prs_MailingState": case.state,
            "prs_MailingStreet": case.street,
            "prs_MailingPostalCode": case.postal_code,
            "vic_TraffickingStatus": STATUS_LABEL[case.status] if labels else case.status,
            "vic_TraffickinStatusDecisionMakingOrg": "NGO",
            "vic_MethodOfRecruitment": "Through friends or social events",
            "vic_LocationOfRecruitment": f"Market near {case.street}",
            "vic_MethodsOfControl": ";".join(pick(METHODS, m) for m in case.methods),
            "vic_TypeOfExploitation": ";".join(pick(EXPLOITATION, k)
                                               for k in case.exploitation),
            "vic_ForcedLabourIndustry": ";".join(pick(INDUSTRIES, k) for k in case.industries),
            "vic_TypeOfSexExploitation": ";".join(pick(SEX_TYPES, k) for k in case.sex_types),
            "vic_LocationOfExploitation": exploited_in,
            "cas_Status": "Active",
            "cas_ReferringOrganisation": "Shelter of Hope",
            "cas_IncomingReferralDate": when(case.case_date),
            "cas_ReferringPrimaryCaseWorker": WORKERS[(case.n + 1) % 3],
            "cas_IncomingReferralDetails": case.referral_details,
            "cas_ReferredPrimaryCaseWorker": WORKERS[(case.n + 2) % 3],
            "cas_OutgoingReferralDetails": f"Escorted by {case.case_worker}",
        }
        for name, value in values.items():
            if value not in (None, ""):
                ws.cell(row=row, column=col[name], value=value)
    wb.save(out)
    return out


# --- writing an XLSForm (KoboToolbox) CSV export ------------------------------------------


def xlsform_fields() -> list[tuple[str, str]]:
    """(type, name) of the survey rows of the real XLSForm."""
    wb = openpyxl.load_workbook(XLSFORM, read_only=True)
    rows = list(wb["survey"].iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    t, n = header.index("type"), header.index("name")
    return [(str(r[t]), str(r[n])) for r in rows[1:] if r[t]]


def xlsform_choices() -> dict[str, list[tuple[str, str]]]:
    """list_name -> [(name, label)] of the real XLSForm's choices sheet."""
    wb = openpyxl.load_workbook(XLSFORM, read_only=True)
    rows = list(wb["choices"].iter_rows(values_only=True))
    out: dict[str, list[tuple[str, str]]] = {}
    for list_name, name, label in (r[:3] for r in rows[1:]):
        if list_name:
            out.setdefault(str(list_name), []).append((str(name), str(label)))
    return out


def xlsform_csv(cases: list[Case], *, separator: str = "/", delimiter: str = ";",
                split_choices: bool = True) -> bytes:
    """A KoboToolbox-style CSV export of the real XLSForm filled with the cases.

    Field names come from the form's survey sheet, grouped by table (``consent/con_Consent``
    or ``consent-con_Consent``); select_multiple answers are space-separated choice names;
    with split_choices, each choice of vic_TypeOfExploitation also gets a 0/1 column, as Kobo
    exports by default. Kobo's own columns (_id, _uuid, _submission_time, ...) follow.
    """
    fields = [(t, n) for t, n in xlsform_fields() if t not in ("start", "end", "calculate")]
    groups = {"con": "consent", "prs": "person", "vic": "victim", "cas": "case"}
    exploitation_choices = [n for n, _ in xlsform_choices()["typeofexploitation"]]

    def header(name: str) -> str:
        return f"{groups[name[:3]]}{separator}{name}"

    columns = ["start", "end"] + [header(n) for _, n in fields]
    if split_choices:
        columns += [f"{header('vic_TypeOfExploitation')}/{c}" for c in exploitation_choices]
    columns += ["_id", "_uuid", "_submission_time", "_validation_status", "_submitted_by",
                "__version__", "_index"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for case in cases:
        by_name = {
            "con_Consent": {True: "TRUE", False: "FALSE", None: ""}[case.consent],
            "prs_Salutation": case.salutation,
            "prs_First_Name": case.first_name,
            "prs_Second_Name": case.second_name,
            "prs_Birthdate": case.birth.isoformat() if case.birth else "",
            "prs_Gender": case.gender,
            "prs_Citizenship": case.citizenship[0] if case.citizenship else "",
            "prs_Title": case.title,
            "prs_Email": case.email,
            "prs_HomePhone": case.home_phone,
            "prs_MobilePhone": case.mobile_phone,
            "prs_MailingCity": case.city,
            "prs_MailingCountry": case.mailing_country,
            "prs_MailingState": case.state,
            "prs_MailingStreet": case.street,
            "prs_MailingPostalCode": case.postal_code,
            "vic_MethodOfRecruitment": "ThroughFriendsOrSocialEvents AtWork",
            "vic_LocationOfRecruitment": f"Market near {case.street}",
            "vic_TraffickingStatus": case.status,
            "vic_TraffickingStatusDecisionMakingOrg": "NGO",
            "vic_Methods_of_Control": " ".join(case.methods),
            "vic_TypeOfExploitation": " ".join(case.exploitation),
            "vic_ForcedLabourIndustry": " ".join(case.industries),
            "vic_TypeOfSexExploitation": " ".join(case.sex_types),
            "vic_LocationOfExploitation": case.exploited_in[0] if case.exploited_in else "",
            "cas_Status": "Active",
            "cas_ReferringOrganisation": "Shelter of Hope",
            "cas_IncomingReferralDate": (case.case_date.isoformat()
                                         if case.case_date and case.n % 4 else ""),
            "cas_ReferringPrimaryCaseWorker": WORKERS[(case.n + 1) % 3],
            "cas_ReasonForIncomingReferral": "Other",
            "cas_IncomingReferralDetails": case.referral_details,
        }
        start = f"{case.case_date.isoformat()}T09:15:00.000+01:00" if case.case_date else ""
        row = [start, start.replace("T09:15", "T10:05")]
        row += [by_name[n] for _, n in fields]
        if split_choices:
            row += ["1" if c in case.exploitation else "0" for c in exploitation_choices]
        row += [str(1000 + case.n), case.uuid.removeprefix("uuid:"), SUBMITTED.isoformat(),
                "", case.case_worker.lower().replace(" ", "_"), "vSmt4GQA3C9uBMLPEVfgND",
                str(case.n)]
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def xlsform_case_date(case: Case) -> date:
    """What an XLSForm record's case date is: the referral date, else when the interview
    started, else when it was submitted."""
    return case.case_date or SUBMITTED.date()


# --- reading the standard's own files -----------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def ods_rows(path: Path = FIELD_STANDARD) -> list[list[str]]:
    """The first sheet of an .ods file as rows of cell texts (lines joined by newlines)."""
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("content.xml"))
    t = _TABLE
    sheet = next(root.iter(t + "table"))
    rows = []
    for r in sheet.iter(t + "table-row"):
        cells: list[str] = []
        for c in r:
            if c.tag not in (t + "table-cell", t + "covered-table-cell"):
                continue
            repeat = min(int(c.get(t + "number-columns-repeated", "1")), 64)
            text = "\n".join("".join(p.itertext()) for p in c.iter(_TEXT + "p"))
            cells.extend([text] * repeat)
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append(cells)
    return rows


@dataclass(frozen=True)
class StandardField:
    name: str
    type: str
    values: tuple[tuple[str, str], ...]  # (value name, value label)


def field_standard() -> dict[str, StandardField]:
    """Every field of the field standard with its picklist values (name, label)."""
    rows = ods_rows()
    header = rows[0]
    i_name = header.index("Field Name including Prefix")
    i_type = header.index("Field Type")
    i_values = header.index("Value Names (if picklist)")
    i_labels = header.index("Value Labels (if picklist)")
    out = {}
    for row in rows[1:]:
        cell = (row + [""] * len(header))
        name = cell[i_name].strip()
        if not re.match(r"^[a-z]{3}_\w+$", name):
            continue
        kind = cell[i_type].strip()
        values: tuple[tuple[str, str], ...] = ()
        standard_list = "ISO" in cell[i_values] + cell[i_labels]  # countries, languages
        if "Picklist" in kind and cell[i_values].strip() and not standard_list:
            names = [v.strip() for v in cell[i_values].splitlines() if v.strip()]
            labels = [v.replace("\xa0", " ").strip() for v in cell[i_labels].splitlines()
                      if v.strip()]
            assert len(names) == len(labels), name
            values = tuple(zip(names, labels, strict=True))
        out[name] = StandardField(name, kind, values)
    return out


def definitions_sections() -> dict[str, list[str]]:
    """Field_Definitions.md: level-2 section title -> first-column entries of its tables
    (those of its sub-sections included)."""
    out: dict[str, list[str]] = {}
    section = ""
    for line in FIELD_DEFINITIONS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if level <= 2:
                section = line.lstrip("#").strip()
            continue
        if not line.startswith("|"):
            continue
        first = line.split("|")[1].strip()
        if not first or set(first) <= {"-"} or first in ("Field Name", "Field Label"):
            continue
        out.setdefault(section, []).append(first)
    return out


def validation_lists() -> dict[str, list[str]]:
    """The validation sheet of the single-select template: list title -> its values."""
    wb = openpyxl.load_workbook(VALIDATION_TEMPLATE, read_only=True)
    rows = list(wb["validation"].iter_rows(values_only=True))
    titles = rows[2]
    out: dict[str, list[str]] = {}
    for j, title in enumerate(titles):
        if title is None:
            continue
        out[str(title)] = [str(r[j]) for r in rows[3:] if j < len(r) and r[j] is not None]
    return out


def iter_strings(value: object) -> Iterator[str]:
    """Every string inside nested dicts, lists and tuples (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from iter_strings(k)
            yield from iter_strings(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from iter_strings(v)
    elif value is not None:
        yield str(value)
