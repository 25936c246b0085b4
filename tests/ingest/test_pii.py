"""Identifier detection in free text and column headers: what it must catch, what it must let be."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pii import REASONS, find_identifiers, identifier_column_kind, is_identifier_column


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # phones: French, English, Libyan, Nigerian, Iraqi; national and international
        ("Tél : 06 12 34 56 78", "phone"),
        ("joignable au 0612345678", "phone"),
        ("+33 6 12 34 56 78", "phone"),
        ("call +44 7911 123456", "phone"),
        ("(202) 555-0143", "phone"),
        ("+218 91 234 5678", "phone"),
        ("00218912345678", "phone"),
        ("frère au +218912345678 à Sabha", "phone"),
        ("0803 123 4567", "phone"),
        ("+964 770 123 4567", "phone"),
        # e-mails
        ("contact: aminata.diallo@example.org", "email"),
        ("écrire à prénom.nom+ong@exemple.fr", "email"),
        # ID documents
        ("passport AB1234567", "id_number"),
        ("Passeport n° AB1234567 confisqué", "id_number"),
        ("CNI 1234567890123", "id_number"),
        ("IBAN FR76 3000 6000 0112 3456 7890 189", "id_number"),
        # names after a marker
        ("Nom: Aminata Diallo", "person_name"),
        ("Nom : Aminata DIALLO", "person_name"),
        ("Name: John Smith", "person_name"),
        ("Mme Diallo a été recrutée à Bamako", "person_name"),
        ("reçue par M. Traoré", "person_name"),
        ("Mrs Okafor", "person_name"),
        ("a man called Moussa", "person_name"),
        ("la victime s'appelle Fatoumata", "person_name"),
        ("ism: Fatima", "person_name"),
        ("اسمها فاطمة", "person_name"),
        # birth dates
        ("né le 12/03/1990", "birth_date"),
        ("née le 3 mars 1990 à Kano", "birth_date"),
        ("DOB: 1990-03-12", "birth_date"),
        ("date of birth 12.03.1990", "birth_date"),
        ("born on 12 March 1990", "birth_date"),
        ("Date de naissance : 12/03/1990", "birth_date"),
    ],
)
def test_true_positives(text: str, reason: str) -> None:
    assert reason in find_identifiers(text)


@pytest.mark.parametrize(
    "text",
    [
        "2019",
        "24",
        "17,5",
        "12/03/2021",
        "2021-03-12",
        "Travail forcé",
        "Libye",
        "Côte d'Ivoire",
        "Exploitation sexuelle en Libye depuis 2019",
        "arrivée le 12/03/2021 à Tripoli",
        "âgée de 17 ans",
        "25 000 000",
        "1 250,00",
        "dossier 2021-0456",
        "20190312",
        "COVID19",
        "1500USD",
        "12h30",
        "NB-0001",
        "called the police",
        "nombre de victimes: 3",
        "forced_labour;sexual_exploitation",
        '["forced_labour","sexual_exploitation"]',
        "",
        "   ",
    ],
)
def test_true_negatives(text: str) -> None:
    assert find_identifiers(text) == ()


def test_reasons_come_once_in_a_fixed_order_and_never_quote_the_text() -> None:
    text = (
        "Nom: Aminata Diallo, née le 12/03/1990, tél +218 91 234 5678, a.d@example.org, AB1234567"
    )
    found = find_identifiers(text)
    assert found == ("email", "phone", "id_number", "person_name", "birth_date")
    assert set(found) <= set(REASONS)
    assert not any(part in " ".join(found) for part in ("Aminata", "1990", "218", "AB12"))


def test_phone_is_not_also_reported_as_an_id_number() -> None:
    assert find_identifiers("0612345678") == ("phone",)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Name", "person_name"),
        ("First name", "person_name"),
        ("SURNAME", "person_name"),
        ("Victim's full name", "person_name"),
        ("Nom", "person_name"),
        ("Prénom", "person_name"),
        ("Nom de famille", "person_name"),
        ("nombre", "person_name"),
        ("Nombre completo", "person_name"),
        ("Apellidos", "person_name"),
        ("Nome", "person_name"),
        ("Sobrenome", "person_name"),
        ("prs_FirstName", "person_name"),
        ("Phone", "phone"),
        ("Téléphone", "phone"),
        ("Tél.", "phone"),
        ("tel", "phone"),
        ("Mobile number", "phone"),
        ("Telefone", "phone"),
        ("E-mail", "email"),
        ("Courriel", "email"),
        ("Correo electrónico", "email"),
        ("Address", "address"),
        ("Adresse", "address"),
        ("Dirección", "address"),
        ("Passport No.", "id_number"),
        ("Passeport", "id_number"),
        ("ID number", "id_number"),
        ("National ID", "id_number"),
        ("N° CNI", "id_number"),
        ("Numéro de pièce d'identité", "id_number"),
        ("Date of birth", "birth_date"),
        ("DATE_DE_NAISSANCE", "birth_date"),
        ("D.O.B.", "birth_date"),
        ("prs_Birthdate", "birth_date"),
        ("Fecha de nacimiento", "birth_date"),
        ("Data de nascimento", "birth_date"),
        ("Photo", "photo"),
        ("GPS coordinates", "geolocation"),
    ],
)
def test_identifier_columns(header: str, kind: str) -> None:
    assert identifier_column_kind(header) == kind
    assert is_identifier_column(header)


@pytest.mark.parametrize(
    "header",
    [
        "Case ID",
        "Case ID number",
        "N° dossier",
        "Age",
        "Âge",
        "Sexe",
        "Gender",
        "Gender identity",
        "Nationalité",
        "Citizenship",
        "Country name",
        "Nom du pays",
        "Nom de l'organisation",
        "Nombre de victimes",
        "Type d'exploitation",
        "Year of registration",
        "Hotel",
        "cas_CaseOwner",
        "prs_Salutation",
        "Country of exploitation",
        "",
    ],
)
def test_not_identifier_columns(header: str) -> None:
    assert not is_identifier_column(header)


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_any_text_gives_only_reason_codes(text: str) -> None:
    found = find_identifiers(text)
    assert set(found) <= set(REASONS)
    assert list(found) == sorted(found, key=REASONS.index)


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.integers(0, 120).map(str),  # ages
        st.integers(1900, 2100).map(str),  # years
        st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y")),
        st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
        st.decimals(0, 10_000, places=2).map(lambda d: str(d).replace(".", ",")),
    )
)
def test_ages_years_dates_and_amounts_alone_are_not_identifiers(value: str) -> None:
    assert find_identifiers(value) == ()
