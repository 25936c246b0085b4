"""Real CTDC rows relabelled in Spanish, as a Latin American or Spanish partner writes them:
`mapping suggest` alone must recover them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from babel import Locale

from harmonize.matching import match
from ingest.readers import read_table
from schemas.definition import SCHEMA
from tests.harmonize.ctdc_relabel import (
    ALL_GROUPS,
    CATEGORIES,
    COUNTRIES,
    VOCABULARY,
    assert_header_names_its_target,
    assert_labels_cover_every_value,
    assert_suggest_recovers,
    chosen_codes,
    csv_bytes,
    pick,
    real_cases,
    synonym_clashes,
)

SPANISH_COLUMNS = {  # target -> Spanish header a partner would write
    "case_id": "N.º de caso", "year_of_registration": "Fecha de registro",
    "data_source": "Fuente", "gender": "Sexo", "age_broad": "Edad",
    "majority_status": "Mayor/menor de edad", "citizenship": "Nacionalidad",
    "country_of_exploitation": "País de explotación",
    "exploitation_type": "Tipo de explotación", "means_of_control": "Medios de control",
    "labour_type": "Sector laboral", "sex_exploitation_type": "Tipo de explotación sexual",
    "recruiter_relation": "Relación con el captador",
}
HEADERS = {  # target -> other headers Spanish-speaking partners write for it
    "case_id": ["Nro. de caso", "Número de expediente", "ID del caso"],
    "year_of_registration": ["Año de registro", "Fecha de identificación"],
    "data_source": ["Fuente de datos", "Origen de los datos"],
    "gender": ["Género"],
    "age_broad": ["Rango de edad", "Grupo etario", "Fecha de nacimiento"],
    "majority_status": ["Mayoría de edad"],
    "citizenship": ["País de origen", "Ciudadanía"],
    "country_of_exploitation": ["País de destino", "Lugar de explotación"],
    "exploitation_type": ["Modalidad de explotación", "Finalidad de la trata"],
    "means_of_control": ["Mecanismos de control"],
    "labour_type": ["Sector de actividad", "Rama de actividad"],
    "sex_exploitation_type": ["Modalidad de explotación sexual"],
    "recruiter_relation": ["Vínculo con el reclutador"],
}

# Several case workers fill one register: the first wording is the usual one, the others
# turn up now and then (accents and capitals as typed; matching folds them).
LABELS: dict[str, dict[str, list[str]]] = {
    "data_source": {
        "case_management": ["Gestión de casos", "Atención directa", "Manejo de casos"],
        "hotline": ["Línea de ayuda", "Línea telefónica", "Línea directa"],
    },
    "gender": {
        "female": ["Mujer", "Femenino", "Sexo: mujer"],
        "male": ["Hombre", "Masculino", "Varón"],
        "transgender": ["Trans", "Mujer trans", "No binario"],
        "unknown": ["Desconocido", "NS/NR", "Sin especificar"],
    },
    "age_band": {
        **{code: [f"{lo} a {hi} años", f"De {lo} a {hi} años", f"{lo}-{hi}"]
           for code, lo, hi in (("0-8", 0, 8), ("9-17", 9, 17), ("18-20", 18, 20),
                                ("21-23", 21, 23), ("24-26", 24, 26), ("27-29", 27, 29),
                                ("30-38", 30, 38), ("39-47", 39, 47))},
        "48+": ["48 años y más", "48 o más", "48+"],
        "unknown": ["Desconocida", "Se desconoce", "NS/NR"],
    },
    "majority_status": {
        "adult": ["Mayor de edad", "Adulto", "Adulta"],
        "minor": ["Menor de edad", "Menor", "NNA"],
        "unknown": ["Desconocido", "Se desconoce", "No sabe"],
    },
    "exploitation_type": {
        "forced_labour": ["Trabajo forzoso", "Explotación laboral", "Trata laboral"],
        "sexual_exploitation": ["Explotación sexual", "Trata con fines de explotación sexual",
                                "Explotación sexual comercial"],
        "other": ["Otra", "Otras formas de explotación", "Servidumbre"],
        "forced_marriage": ["Matrimonio forzado", "Matrimonio servil", "Uniones tempranas"],
        "forced_military": ["Reclutamiento forzoso", "Niño soldado",
                            "Reclutamiento por grupos armados"],
        "organ_removal": ["Extracción de órganos", "Tráfico de órganos"],
    },
    "means_of_control": {
        "debt_bondage": ["Servidumbre por deudas", "Deudas", "Endeudamiento"],
        "takes_earnings": ["Retención de salarios", "Se queda con las ganancias",
                           "No le pagan"],
        "restricts_financial_access": ["Restringe el acceso al dinero",
                                       "Restricción del acceso financiero"],
        "threats": ["Amenazas", "Intimidación"],
        "psychological_abuse": ["Violencia psicológica", "Maltrato psicológico",
                                "Abuso emocional"],
        "physical_abuse": ["Violencia física", "Maltrato físico", "Golpes"],
        "sexual_abuse": ["Violencia sexual", "Abuso sexual", "Violación"],
        "false_promises": ["Engaño", "Falsas promesas", "Oferta de trabajo falsa"],
        "psychoactive_substances": ["Drogas", "Sustancias psicoactivas",
                                    "Consumo forzado de drogas"],
        "restricts_movement": ["Restricción de movimiento", "Encierro",
                               "Privación de libertad"],
        "restricts_medical_care": ["Negación de atención médica", "Sin atención médica"],
        "excessive_working_hours": ["Jornadas excesivas", "Horas de trabajo excesivas"],
        "uses_children": ["Amenazas a los hijos", "Utiliza a los hijos"],
        "threat_of_law_enforcement": ["Amenaza de deportación", "Amenaza de denuncia",
                                      "Amenaza con la policía"],
        "withholds_necessities": ["Privación de alimentos", "Priva de necesidades básicas"],
        "withholds_documents": ["Retención de documentos", "Retención del pasaporte"],
        "other": ["Otros", "Otro medio de control"],
        "not_specified": ["No especificado", "Sin especificar", "Se desconoce"],
    },
    "labour_type": {
        "agriculture": ["Agricultura", "Trabajo agrícola", "Ganadería"],
        "aquafarming": ["Pesca", "Acuicultura"],
        "begging": ["Mendicidad", "Mendicidad forzada"],
        "construction": ["Construcción", "Obras", "Ladrilleras"],
        "domestic_work": ["Trabajo doméstico", "Empleada del hogar", "Servidumbre doméstica"],
        "hospitality": ["Hostelería", "Restaurantes", "Hoteles"],
        "illicit_activities": ["Actividades ilícitas", "Microtráfico",
                               "Actividades delictivas"],
        "manufacturing": ["Manufactura", "Talleres textiles", "Maquila"],
        "mining_or_drilling": ["Minería", "Minería ilegal", "Minas"],
        "peddling": ["Venta ambulante", "Comercio ambulante"],
        "transportation": ["Transporte", "Chofer"],
        "other": ["Otro", "Otro sector"],
        "not_specified": ["No especificado", "Sin especificar"],
    },
    "sex_exploitation_type": {
        "prostitution": ["Prostitución", "Prostitución forzada", "Prostitución ajena"],
        "pornography": ["Pornografía", "Pornografía infantil"],
        "remote_interactive_services": ["Webcam", "Explotación sexual en línea"],
        "private_sexual_services": ["Servicios sexuales privados", "Servidumbre sexual"],
    },
    "recruiter_relation": {
        "intimate_partner": ["Pareja", "Pareja sentimental", "Novio/a"],
        "friend": ["Amigo/a", "Conocido", "Amiga"],
        "family": ["Familiar", "Pariente", "Tía"],
        "other": ["Otro", "Empleador", "Persona desconocida"],
        "unknown": ["Desconocido", "Se desconoce", "No sabe"],
    },
}
COUNTRY_NAMES = {  # ISO3 -> names partners write besides CLDR's, the CLDR one first
    "USA": ["Estados Unidos", "EE.UU.", "EEUU"], "MMR": ["Birmania", "Myanmar"],
    "MKD": ["Macedonia del Norte", "Macedonia"], "RUS": ["Rusia", "Federación Rusa"],
    "MDA": ["Moldavia", "República de Moldavia", "Moldova"],
    "KAZ": ["Kazajistán", "Kazajstán"], "KGZ": ["Kirguistán", "Kirguizistán"],
    "CIV": ["Costa de Marfil"], "COD": ["República Democrática del Congo", "RD Congo"],
    "SAU": ["Arabia Saudita", "Arabia Saudí"], "GBR": ["Reino Unido", "Inglaterra"],
    "ARE": ["Emiratos Árabes Unidos", "EAU"], "BIH": ["Bosnia-Herzegovina"],
    "CZE": ["República Checa"], "NLD": ["Países Bajos", "Holanda"],
    "unknown": ["Desconocido", "Se desconoce", "NS/NR"],
}


def _country(code: str, i: int) -> str:
    if code in COUNTRY_NAMES:
        return pick(COUNTRY_NAMES[code], i)
    iso2 = SCHEMA.vocabularies["country"].value(code).label
    return str(Locale.parse("es").territories[iso2])


def _spanish_extract(internal: pd.DataFrame) -> bytes:
    rows = []
    for i, case in enumerate(internal.itertuples(index=False)):
        rec = case._asdict()
        year = rec["year_of_registration"]
        row = {"N.º de caso": f"CO-{i:05d}",
               "Fecha de registro": "" if pd.isna(year)
               else dt.date(int(year), 1 + i % 12, 1 + i * 7 % 28).strftime("%d/%m/%Y")}
        for field in CATEGORIES:
            code = rec[field]
            vocab = VOCABULARY.get(field, field)
            row[SPANISH_COLUMNS[field]] = "" if pd.isna(code) else pick(
                LABELS[vocab][code], i)
        for field in COUNTRIES:
            code = rec[field]
            row[SPANISH_COLUMNS[field]] = "" if pd.isna(code) else _country(code, i)
        for group in ALL_GROUPS:
            row[SPANISH_COLUMNS[group]] = "; ".join(
                pick(LABELS[group][code], i + n) for n, code in
                enumerate(chosen_codes(rec, group)))
        rows.append(row)
    # Excel's "CSV UTF-8" as saved in Latin America: commas, a byte-order mark.
    return csv_bytes(rows, delimiter=",", encoding="utf-8-sig")


@pytest.mark.parametrize(("target", "header"), [
    (target, header) for target, header in SPANISH_COLUMNS.items()] + [
    (target, header) for target, headers in HEADERS.items() for header in headers])
def test_spanish_header_names_its_target(target: str, header: str) -> None:
    assert_header_names_its_target(header, target)


def test_every_vocabulary_value_has_spanish_labels_here() -> None:
    assert_labels_cover_every_value(LABELS)


@pytest.mark.parametrize(("vocab", "code", "text"), [
    (vocab, code, text) for vocab, labels in LABELS.items()
    for code, texts in labels.items() for text in texts])
def test_spanish_wording_matches_its_code(vocab: str, code: str, text: str) -> None:
    assert match(vocab, text) == code


@pytest.mark.parametrize(("code", "text"), [
    (code, text) for code, texts in COUNTRY_NAMES.items() for text in texts])
def test_spanish_country_names(code: str, text: str) -> None:
    assert match("country", text) == code


def test_no_spanish_synonym_names_two_codes_of_one_vocabulary() -> None:
    assert not synonym_clashes("es")


def test_suggest_recovers_real_ctdc_rows_relabelled_in_spanish(ctdc_kanon_path: Path) -> None:
    internal = real_cases(ctdc_kanon_path)
    table = read_table(_spanish_extract(internal), "registro_victimas.csv")
    assert_suggest_recovers(table, internal, SPANISH_COLUMNS, "registro_victimas")
