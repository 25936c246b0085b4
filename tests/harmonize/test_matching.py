"""Matching partner wording: labels, synonyms in five languages, countries in any form."""

from __future__ import annotations

import pytest

from harmonize.matching import is_not_supplied, match


@pytest.mark.parametrize(("text", "iso3"), [
    ("Libye", "LBY"), ("Libiya", "LBY"), ("LY", "LBY"), ("LBY", "LBY"), ("434", "LBY"),
    ("ليبيا", "LBY"), ("Côte d'Ivoire", "CIV"), ("COTE D IVOIRE", "CIV"), ("Tchad", "TCD"),
    ("Égypte", "EGY"), ("Misr", "EGY"), ("RDC", "COD"), ("Soudan du Sud", "SSD"),
    ("Al-Sudan", "SDN"), ("Nigéria", "NGA"), ("Nayjiriya", "NGA"), ("Niger", "NER"),
    ("Marruecos", "MAR"), ("Etiópia", "ETH"), ("Kosovo", "XKX"),
])
def test_country_names_in_many_languages(text: str, iso3: str) -> None:
    assert match("country", text) == iso3


@pytest.mark.parametrize(("vocab", "text", "code"), [
    ("gender", "Femme", "female"), ("gender", "HOMME", "male"), ("gender", "Inconnu", "unknown"),
    ("gender", "mujer", "female"), ("gender", "Untha", "female"),
    ("exploitation_type", "Travail forcé", "forced_labour"),
    ("exploitation_type", "Exploitation sexuelle", "sexual_exploitation"),
    ("exploitation_type", "Mariage forcé", "forced_marriage"),
    ("exploitation_type", "trabalho forçado", "forced_labour"),
    ("labour_type", "Mendicité forcée", "begging"),
    ("means_of_control", "Servitude pour dettes", "debt_bondage"),
    ("means_of_control", "Confiscation des documents", "withholds_documents"),
    ("recruiter_relation", "Famille", "family"),
    ("age_band", "18--20", "18-20"), ("age_band", "18-20", "18-20"), ("age_band", "48+", "48+"),
])
def test_vocabulary_synonyms(vocab: str, text: str, code: str) -> None:
    assert match(vocab, text) == code


def test_overrides_win_over_synonyms() -> None:
    assert match("gender", "H", {"H": "male"}) == "male"
    assert match("gender", "nonsense") is None


@pytest.mark.parametrize("text", ["", " ", "-99", "N/A", "NULL", "non renseigné", "-",
                                  "Sin información", "No consta", "Sem informação",
                                  "Não consta"])
def test_not_supplied_tokens(text: str) -> None:
    assert is_not_supplied(text)


@pytest.mark.parametrize("text", ["Inconnu", "Unknown", "0", "Desconocido", "Desconhecido",
                                  "Não informado"])
def test_unknown_is_not_not_supplied(text: str) -> None:
    assert not is_not_supplied(text)
