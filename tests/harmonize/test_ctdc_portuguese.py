"""Real CTDC rows relabelled in Portuguese, as a partner in Portugal, Brazil, Angola or
Mozambique writes them: `mapping suggest` alone must recover them."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from babel import Locale
from openpyxl import Workbook

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
    pick,
    real_cases,
    synonym_clashes,
)

PORTUGUESE_COLUMNS = {  # target -> Portuguese header a partner would write
    "case_id": "N.º do processo", "year_of_registration": "Data de registo",
    "data_source": "Fonte", "gender": "Sexo", "age_broad": "Idade",
    "majority_status": "Maior ou menor de idade", "citizenship": "Nacionalidade",
    "country_of_exploitation": "País de exploração",
    "exploitation_type": "Tipo de exploração", "means_of_control": "Meios de controlo",
    "labour_type": "Setor de atividade", "sex_exploitation_type": "Tipo de exploração sexual",
    "recruiter_relation": "Relação com o aliciador",
}
HEADERS = {  # target -> other headers Portuguese-speaking partners write for it
    "case_id": ["Nº do processo", "Número do processo", "ID do caso"],
    "year_of_registration": ["Data de registro", "Ano de registo", "Data de sinalização"],
    "data_source": ["Fonte de dados", "Origem dos dados"],
    "gender": ["Género", "Gênero"],
    "age_broad": ["Faixa etária", "Escalão etário", "Data de nascimento"],
    "majority_status": ["Maioridade"],
    "citizenship": ["País de origem", "Cidadania"],
    "country_of_exploitation": ["País de destino", "Local de exploração"],
    "exploitation_type": ["Modalidade de exploração", "Finalidade do tráfico"],
    "means_of_control": ["Meios de controle", "Formas de controle"],
    "labour_type": ["Sector de actividade", "Ramo de atividade"],
    "sex_exploitation_type": ["Forma de exploração sexual"],
    "recruiter_relation": ["Relação com o recrutador", "Vínculo com o aliciador"],
}

# Several técnicos fill one register, in European, African and Brazilian Portuguese: the
# first wording is the usual one, the others turn up now and then.
LABELS: dict[str, dict[str, list[str]]] = {
    "data_source": {
        "case_management": ["Gestão de casos", "Acompanhamento de casos", "Assistência"],
        "hotline": ["Linha de apoio", "Linha telefónica", "Disque Denúncia"],
    },
    "gender": {
        "female": ["Feminino", "Mulher", "Sexo: feminino"],
        "male": ["Masculino", "Homem", "Sexo: masculino"],
        "transgender": ["Transgénero", "Pessoa trans", "Travesti"],
        "unknown": ["Desconhecido", "Ignorado", "Não informado"],
    },
    "age_band": {
        **{code: [f"{lo} a {hi} anos", f"Entre {lo} e {hi} anos", f"{lo}-{hi}"]
           for code, lo, hi in (("0-8", 0, 8), ("9-17", 9, 17), ("18-20", 18, 20),
                                ("21-23", 21, 23), ("24-26", 24, 26), ("27-29", 27, 29),
                                ("30-38", 30, 38), ("39-47", 39, 47))},
        "48+": ["48 anos ou mais", "48 e mais", "48+"],
        "unknown": ["Desconhecida", "Ignorada", "Não sabe"],
    },
    "majority_status": {
        "adult": ["Maior de idade", "Adulto", "Adulta"],
        "minor": ["Menor de idade", "Criança ou adolescente", "Menor"],
        "unknown": ["Desconhecido", "Ignorado", "Não sabe"],
    },
    "exploitation_type": {
        "forced_labour": ["Trabalho forçado", "Trabalho análogo ao de escravo",
                          "Exploração laboral"],
        "sexual_exploitation": ["Exploração sexual", "Exploração sexual comercial",
                                "Tráfico para fins de exploração sexual"],
        "other": ["Outra", "Outras formas de exploração", "Servidão"],
        "forced_marriage": ["Casamento forçado", "Casamento infantil", "Casamento servil"],
        "forced_military": ["Recrutamento forçado", "Criança soldado",
                            "Recrutamento por grupos armados"],
        "organ_removal": ["Remoção de órgãos", "Tráfico de órgãos", "Extração de órgãos"],
    },
    "means_of_control": {
        "debt_bondage": ["Servidão por dívidas", "Dívidas", "Endividamento"],
        "takes_earnings": ["Retenção de salários", "Fica com os ganhos", "Salário retido"],
        "restricts_financial_access": ["Restringe o acesso ao dinheiro",
                                       "Sem acesso ao dinheiro"],
        "threats": ["Ameaças", "Intimidação"],
        "psychological_abuse": ["Violência psicológica", "Abuso psicológico",
                                "Maus-tratos psicológicos"],
        "physical_abuse": ["Violência física", "Agressões físicas", "Espancamento"],
        "sexual_abuse": ["Violência sexual", "Abuso sexual", "Violação"],
        "false_promises": ["Engano", "Falsas promessas", "Proposta de emprego falsa"],
        "psychoactive_substances": ["Drogas", "Substâncias psicoativas", "Álcool"],
        "restricts_movement": ["Restrição de movimentos", "Cárcere privado",
                               "Restrição de locomoção"],
        "restricts_medical_care": ["Sem assistência médica", "Restrição de cuidados médicos"],
        "excessive_working_hours": ["Jornada exaustiva", "Horas de trabalho excessivas"],
        "uses_children": ["Ameaças aos filhos", "Usa os filhos"],
        "threat_of_law_enforcement": ["Ameaça de deportação", "Ameaça de denúncia",
                                      "Ameaça com a polícia"],
        "withholds_necessities": ["Privação de alimentos", "Priva de necessidades básicas"],
        "withholds_documents": ["Retenção de documentos", "Confisco do passaporte",
                                "Apreensão de documentos"],
        "other": ["Outros", "Outros meios de controlo"],
        "not_specified": ["Não especificado", "Sem especificação", "Ignorado"],
    },
    "labour_type": {
        "agriculture": ["Agricultura", "Trabalho rural", "Pecuária"],
        "aquafarming": ["Pesca", "Aquacultura", "Aquicultura"],
        "begging": ["Mendicidade", "Mendicância", "Mendicidade forçada"],
        "construction": ["Construção civil", "Construção", "Obras"],
        "domestic_work": ["Trabalho doméstico", "Empregada doméstica", "Servidão doméstica"],
        "hospitality": ["Hotelaria e restauração", "Restaurantes", "Hotelaria"],
        "illicit_activities": ["Atividades ilícitas", "Tráfico de drogas",
                               "Atividades criminosas"],
        "manufacturing": ["Indústria transformadora", "Oficina de costura", "Confecção"],
        "mining_or_drilling": ["Garimpo", "Mineração", "Exploração mineira"],
        "peddling": ["Venda ambulante", "Vendedor ambulante"],
        "transportation": ["Transportes", "Motorista"],
        "other": ["Outro", "Outro setor"],
        "not_specified": ["Não especificado", "Sem especificação"],
    },
    "sex_exploitation_type": {
        "prostitution": ["Prostituição", "Prostituição forçada"],
        "pornography": ["Pornografia", "Pornografia infantil"],
        "remote_interactive_services": ["Webcam", "Exploração sexual online"],
        "private_sexual_services": ["Serviços sexuais privados", "Servidão sexual"],
    },
    "recruiter_relation": {
        "intimate_partner": ["Companheiro(a)", "Namorado(a)", "Marido"],
        "friend": ["Amigo(a)", "Conhecido(a)", "Amiga"],
        "family": ["Familiar", "Parente", "Tio(a)"],
        "other": ["Outro", "Aliciador", "Empregador"],
        "unknown": ["Desconhecido", "Ignorado", "Não sabe"],
    },
}
COUNTRY_NAMES = {  # ISO3 -> names partners write besides CLDR's (pt-PT first)
    "USA": ["Estados Unidos", "EUA", "Estados Unidos da América"],
    "MMR": ["Birmânia", "Mianmar", "Myanmar"], "MKD": ["Macedónia do Norte", "Macedónia"],
    "RUS": ["Rússia", "Federação Russa"], "MDA": ["Moldávia", "República da Moldávia"],
    "VNM": ["Vietname", "Vietnã"], "UZB": ["Usbequistão", "Uzbequistão"],
    "KGZ": ["Quirguistão", "Quirguizistão"], "IRN": ["Irão", "Irã"],
    "CIV": ["Costa do Marfim"],
    "COD": ["República Democrática do Congo", "RD Congo"],
    "GBR": ["Reino Unido", "Inglaterra"], "NLD": ["Países Baixos", "Holanda"],
    "ARE": ["Emirados Árabes Unidos", "EAU"], "CZE": ["Chéquia", "República Checa"],
    "unknown": ["Desconhecido", "Ignorado", "Não sabe"],
}


def _country(code: str, i: int) -> str:
    if code in COUNTRY_NAMES:
        return pick(COUNTRY_NAMES[code], i)
    iso2 = SCHEMA.vocabularies["country"].value(code).label
    # Portugal, Angola and Mozambique write CLDR's European Portuguese names.
    return str(Locale.parse("pt_PT").territories[iso2])


def _portuguese_extract(internal: pd.DataFrame) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Vítimas"
    sheet.append(["Registo de vítimas de tráfico de seres humanos — extrato"])
    sheet.append(list(PORTUGUESE_COLUMNS.values()))
    for i, case in enumerate(internal.itertuples(index=False)):
        rec = case._asdict()
        year = rec["year_of_registration"]
        row: dict[str, object] = {
            "case_id": f"PT-{i:05d}",
            # A real date cell, as Excel stores it.
            "year_of_registration": None if pd.isna(year)
            else dt.datetime(int(year), 1 + i % 12, 1 + i * 7 % 28)}
        for field in CATEGORIES:
            code = rec[field]
            vocab = VOCABULARY.get(field, field)
            row[field] = None if pd.isna(code) else pick(LABELS[vocab][code], i)
        for field in COUNTRIES:
            code = rec[field]
            row[field] = None if pd.isna(code) else _country(code, i)
        for group in ALL_GROUPS:
            row[group] = ", ".join(
                pick(LABELS[group][code], i + n) for n, code in
                enumerate(chosen_codes(rec, group))) or None
        sheet.append([row[target] for target in PORTUGUESE_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("target", "header"), [
    (target, header) for target, header in PORTUGUESE_COLUMNS.items()] + [
    (target, header) for target, headers in HEADERS.items() for header in headers])
def test_portuguese_header_names_its_target(target: str, header: str) -> None:
    assert_header_names_its_target(header, target)


def test_every_vocabulary_value_has_portuguese_labels_here() -> None:
    assert_labels_cover_every_value(LABELS)


@pytest.mark.parametrize(("vocab", "code", "text"), [
    (vocab, code, text) for vocab, labels in LABELS.items()
    for code, texts in labels.items() for text in texts])
def test_portuguese_wording_matches_its_code(vocab: str, code: str, text: str) -> None:
    assert match(vocab, text) == code


@pytest.mark.parametrize(("code", "text"), [
    (code, text) for code, texts in COUNTRY_NAMES.items() for text in texts])
def test_portuguese_country_names(code: str, text: str) -> None:
    assert match("country", text) == code


def test_european_portuguese_country_names_are_known() -> None:
    territories = Locale.parse("pt_PT").territories
    for v in SCHEMA.vocabularies["country"].values:
        if not v.unknown and v.label in territories:
            assert match("country", territories[v.label]) == v.code, territories[v.label]


def test_no_portuguese_synonym_names_two_codes_of_one_vocabulary() -> None:
    assert not synonym_clashes("pt")


def test_suggest_recovers_real_ctdc_rows_relabelled_in_portuguese(
        ctdc_kanon_path: Path) -> None:
    internal = real_cases(ctdc_kanon_path)
    table = read_table(_portuguese_extract(internal), "registo_vitimas.xlsx")
    assert_suggest_recovers(table, internal, PORTUGUESE_COLUMNS, "registo_vitimas")
