"""Attack (e) through the partner API: a probe upload's report is byte for byte the same whether
or not another organisation holds the person it names (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from schemas.tables import cases
from tests.api.conftest import PartnerSetup
from tests.api.support import Partner, add_partner, wait_for_status

LINKED = """\
mapping_version: "probe/1"
case_id: "N° dossier"
constants: {data_source: case_management}
linkage:
  name: ["Nom", "Prénom"]
  birth_date: {column: "Date de naissance", date_format: "%d/%m/%Y"}
fields:
  year_of_registration: {column: "Date d'enregistrement", date_format: "%d/%m/%Y"}
  gender: {column: "Sexe"}
  citizenship: {column: "Nationalité"}
"""
HEADER = "N° dossier;Date d'enregistrement;Nom;Prénom;Date de naissance;Sexe;Nationalité"
PROBE = [
    "X-1;12/03/2022;Diallo;Aminata;12/03/1999;Femme;Mali",
    "X-2;14/03/2022;DIALLO;Aminata;12/03/1999;Femme;Mali",  # its own repeat
    "X-3;15/03/2022;Sow;Fatou;01/01/2001;Femme;Sénégal",
]
HELD = ["H-1;01/02/2020;Diallo;Aminata;12/03/1999;Femme;Mali",
        "H-2;01/02/2020;Sow;Fatou;01/01/2001;Inconnu;Sénégal"]


def _csv(rows: list[str]) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252")


def _upload(setup: PartnerSetup, partner: Partner, data: bytes) -> dict[str, object]:
    r = setup.client.post("/api/v1/uploads", headers=partner.auth,
                          files={"file": ("registre.csv", data, "text/csv")})
    assert r.status_code == 202, r.text
    done = wait_for_status(setup.client.get, r.json()["url"], partner.auth)
    assert done["status"] == "harmonised", done
    return done


def _seen(done: dict[str, object]) -> str:
    """What the partner sees of its upload, but for its id, address and times."""
    kept = {k: v for k, v in done.items() if k not in ("id", "url", "created_at", "updated_at")}
    return json.dumps(kept, sort_keys=True, ensure_ascii=False)


def test_a_probe_report_does_not_tell_whether_another_partner_holds_the_person(
        partners: PartnerSetup) -> None:
    first, second = (add_partner(partners.ctx, s, mapping=LINKED) for s in ("ong-c", "ong-d"))
    holder = add_partner(partners.ctx, "ong-h", mapping=LINKED.replace("probe/1", "ong-h/1"))
    alone = _upload(partners, first, _csv(PROBE))  # nobody else holds these people yet
    _upload(partners, holder, _csv(HELD))
    held = _upload(partners, second, _csv(PROBE))  # the same probe, now that others do
    assert _seen(alone) == _seen(held)
    report = alone["report"]
    assert isinstance(report, dict)
    assert report["repeat_records"] == 2 and "duplicates_marked" not in report
    # the store did link the second probe to the other partners' records
    with partners.engine.connect() as conn:
        marks = conn.execute(sa.select(cases.c.duplicate_of).where(
            cases.c.org_id == second.org_id)).scalars().all()
    assert len(marks) == 3 and all(m is not None for m in marks)
    for text in ("Diallo", "DIALLO", "Aminata", "12/03/1999", "1999-03-12"):
        assert text not in _seen(alone)
