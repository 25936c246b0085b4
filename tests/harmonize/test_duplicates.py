"""Persons: the same person recorded twice (here or by another partner) counts once; records are
marked, never merged or lost; cohorts stick; a partner's report reflects only its own records."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ctcollab import pipeline
from harmonize.duplicates import AGREE, Record, persons
from harmonize.store import _cohorts
from privacy.counts import exact_counts
from schemas.tables import cases, counted_cases, organisations

OLD_MAPPING = """\
mapping_version: "{org}/1"
case_id: "Case ID"
linkage: ["Name", "Date of birth"]
fields:
  year_of_registration: {{column: "Registered"}}
  gender: {{column: "Sex"}}
  citizenship: {{column: "Nationality"}}
"""
MAPPING = """\
mapping_version: "{version}"
case_id: "Case ID"
linkage:
  name: ["Name"]
  birth_date: {{column: "Date of birth", date_format: "%d/%m/%Y"}}
  birth_year: "Year of birth"
fields:
  year_of_registration: {{column: "Registered"}}
  gender: {{column: "Sex"}}
  citizenship: {{column: "Nationality"}}
"""
HEADER = "Case ID,Name,Date of birth,Year of birth,Registered,Sex,Nationality\n"
OLD_HEADER = "Case ID,Name,Date of birth,Registered,Sex,Nationality\n"


def _ingest(ctx: pipeline.Context, tmp_path: Path, org: str, rows: list[str], *,
            old: bool = False, version: str | None = None, tag: str = "") -> pipeline.IngestResult:
    data = tmp_path / f"{org}-{len(rows)}{tag}.csv"
    data.write_text((OLD_HEADER if old else HEADER) + "\n".join(rows) + "\n", encoding="utf-8")
    mapping = tmp_path / f"{org}{'-old' if old else ''}.yaml"
    text = (OLD_MAPPING.format(org=org) if old
            else MAPPING.format(version=version or f"{org}/1"))
    mapping.write_text(text, encoding="utf-8")
    return pipeline.ingest_file(ctx, org, data, mapping=mapping)


@pytest.fixture
def orgs(ctx: pipeline.Context) -> pipeline.Context:
    for slug in ("org-a", "org-b", "org-c"):
        pipeline.add_org(ctx, slug, slug.upper())
    return ctx


def _by_org(ctx: pipeline.Context) -> dict[str, list[sa.Row[tuple[object, ...]]]]:
    with ctx.engine.connect() as conn:
        ids = {r.id: r.slug for r in conn.execute(sa.select(organisations))}
        rows = conn.execute(sa.select(cases).order_by(cases.c.ingested_at,
                                                      cases.c.case_key)).all()
    out: dict[str, list[sa.Row[tuple[object, ...]]]] = {}
    for r in rows:
        out.setdefault(ids[r.org_id], []).append(r)
    return out


def _counted(ctx: pipeline.Context) -> int:
    with ctx.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(
            counted_cases().subquery())).scalar_one()
        exact = sum(exact_counts(conn, ("gender",), 2015).values())
    assert exact == n  # every product's counts see the same persons
    return int(n)


# --- attack (d): a person in two partners' extracts counts once ---------------------------------


def test_a_person_in_two_partners_extracts_counts_once(orgs: pipeline.Context,
                                                       tmp_path: Path) -> None:
    ctx = orgs
    _ingest(ctx, tmp_path, "org-a", [
        "A1,Aminata Diallo,12/03/1999,,2021,F,Mali",
        "A2,Fatou Sow,01/01/2001,,2021,F,Senegal",
        "A3,Awa Traoré,05/05/1995,,2021,F,Niger",
        "A4,Mariam Keita,07/07/1990,,2021,F,Mali",
    ])
    assert _counted(ctx) == 4
    _ingest(ctx, tmp_path, "org-b", [
        "B7,DIALLO  Aminata,12/03/1999,,2022,Female,Mali",  # same person, another spelling
        "B8,Aminata Diallo,13/03/1999,,2022,F,Mali",  # same name, other birth date: another
        "B9,Fatou Sow,01/01/2001,,2022,Unknown,Senegal",  # unknown gender never conflicts
        "B10,Awa Traore,05/05/1995,,2022,M,Niger",  # female and male: two people
        "B11,Mariam Keita,07/07/1990,,2022,F,",  # citizenship not supplied: no conflict
    ])
    by_org = _by_org(ctx)
    a, b = by_org["org-a"], by_org["org-b"]
    assert len(a) + len(b) == 9  # nothing merged, nothing deleted
    marked = {r.case_key: r.duplicate_of for r in b if r.duplicate_of}
    a_keys = {r.linkage_key: r.case_key for r in a}
    expected = {r.case_key: a_keys[r.linkage_key] for r in b if r.linkage_key in a_keys
                and r.gender != "male"}
    assert marked == expected and len(marked) == 3  # B7, B9, B11
    assert _counted(ctx) == 6  # 4 people of A + B8 + B10
    with ctx.engine.connect() as conn:
        counted = {r.case_key for r in conn.execute(counted_cases())}
        genders = exact_counts(conn, ("gender",), 2015)
    assert {r.case_key for r in a} <= counted  # the earliest record of each person counts
    assert genders[("female",)] == 5 and genders[("male",)] == 1
    assert genders.get(("unknown",), 0) == 0  # B9 is Fatou Sow, counted once as A2
    # The names and birth dates are nowhere in the database.
    with ctx.engine.connect() as conn:
        dump = repr(conn.execute(sa.select(cases)).all())
    for text in ("Aminata", "DIALLO", "Diallo", "Sow", "1999", "05/05"):
        assert text not in dump


def test_a_year_of_birth_and_citizenship_link_to_a_full_date(orgs: pipeline.Context,
                                                             tmp_path: Path) -> None:
    ctx = orgs
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2021,F,Mali"])
    _ingest(ctx, tmp_path, "org-b", [
        "B1,Diallo Aminata,,1999,2022,F,Mali",  # the same person by the year key
        "B2,Diallo Aminata,,1999,2022,F,",  # no citizenship: no year key, not linked
        "B3,Diallo Aminata,,1998,2022,F,Mali",  # another year: another person
    ])
    b = {r.case_key: r for r in _by_org(ctx)["org-b"]}
    linked = [r for r in b.values() if r.duplicate_of]
    assert len(linked) == 1 and linked[0].linkage_key is None
    assert _counted(ctx) == 3


def test_linking_is_transitive_but_never_joins_contradicting_people(
        orgs: pipeline.Context, tmp_path: Path) -> None:
    ctx = orgs
    # P has only a full date, Q only a year and citizenship: not linked to each other ...
    _ingest(ctx, tmp_path, "org-a", ["P,Aminata Diallo,12/03/1999,,2018,F,"])
    _ingest(ctx, tmp_path, "org-b", ["Q,Aminata Diallo,,1999,2020,F,Mali"])
    assert _counted(ctx) == 2
    # ... until R shares a key with each: one person, counted once, with P's cohort.
    _ingest(ctx, tmp_path, "org-c", ["R,Aminata Diallo,12/03/1999,,2023,Unknown,Mali"])
    by_org = _by_org(ctx)
    p, q, r = by_org["org-a"][0], by_org["org-b"][0], by_org["org-c"][0]
    assert (p.duplicate_of, q.duplicate_of, r.duplicate_of) == (None, p.case_key, p.case_key)
    assert (p.cohort, q.cohort, r.cohort) == (2018, 2018, 2018)
    assert _counted(ctx) == 1
    # A man with the same name and birth date is another person, even through R (unknown).
    _ingest(ctx, tmp_path, "org-c", ["S,Aminata Diallo,12/03/1999,,2024,M,Mali"], tag="s")
    s = next(x for x in _by_org(ctx)["org-c"] if x.gender == "male")
    assert s.duplicate_of is None and s.cohort == 2024
    assert _counted(ctx) == 2

    # Withdrawing P: Q becomes the person's counted record; nobody changes cohort.
    pipeline.withdraw(ctx, "org-a", p.upload_id)
    by_org = _by_org(ctx)
    q, r = by_org["org-b"][0], next(x for x in by_org["org-c"] if x.gender != "male")
    assert (q.duplicate_of, r.duplicate_of) == (None, q.case_key)
    assert (q.cohort, r.cohort) == (2018, 2018)
    assert _counted(ctx) == 2


def test_withdrawing_the_counted_record_makes_the_next_one_counted(
        orgs: pipeline.Context, tmp_path: Path) -> None:
    ctx = orgs
    up_a = _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2021,F,Mali",
                                            "A2,Fatou Sow,01/01/2001,,2021,F,Senegal"]).upload_id
    _ingest(ctx, tmp_path, "org-b", ["B7,AMINATA  DIALLO,12/03/1999,,2022,Female,Mali",
                                     "B8,Aminata Diallo,12/03/1999,,2022,Male,Mali"])
    assert _counted(ctx) == 3
    pipeline.withdraw(ctx, "org-a", up_a)
    left = _by_org(ctx)["org-b"]
    assert all(r.duplicate_of is None for r in left)
    assert {r.cohort for r in left} == {2021, 2022}  # B7 keeps the cohort of its person
    assert next(r for r in left if r.gender == "female").cohort == 2021
    assert _counted(ctx) == 2


def test_the_old_list_form_still_links(orgs: pipeline.Context, tmp_path: Path) -> None:
    ctx = orgs
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,2021,F,Mali"], old=True)
    _ingest(ctx, tmp_path, "org-b", ["B7,AMINATA  DIALLO,12/03/1999,2022,Female,Mali"],
            old=True)
    assert _counted(ctx) == 1


def test_records_without_linkage_data_are_never_marked(orgs: pipeline.Context,
                                                       tmp_path: Path) -> None:
    _ingest(orgs, tmp_path, "org-a", ["A1,,,,2021,F,Mali", "A2,Inconnu,,1990,2021,F,Mali",
                                      "A3,Inconnu,,1990,2021,F,Mali"])
    with orgs.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(
            cases.c.duplicate_of.is_not(None))).scalar_one() == 0
    assert _counted(orgs) == 3


# --- cohorts --------------------------------------------------------------------------------------


def test_cohorts_are_set_at_store_time_and_stick(orgs: pipeline.Context, tmp_path: Path) -> None:
    ctx = orgs
    now = datetime.now(UTC).year
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2019,F,Mali",
                                     "A2,Fatou Sow,01/01/2001,,,F,Senegal"])
    a = {r.linkage_key: r for r in _by_org(ctx)["org-a"]}
    assert sorted(r.cohort for r in a.values()) == sorted([2019, now])
    # A record of a known person takes that person's cohort, whatever its own year.
    _ingest(ctx, tmp_path, "org-b", ["B1,Aminata Diallo,12/03/1999,,2023,F,Mali",
                                     "B2,Awa Traoré,05/05/1995,,2023,F,Niger"])
    b = {r.linkage_key: r for r in _by_org(ctx)["org-b"]}
    assert sorted(r.cohort for r in b.values()) == [2019, 2023]
    # A re-uploaded case keeps its cohort, even with another year of registration.
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2016,F,Mali",
                                     "A2,Fatou Sow,01/01/2001,,2017,F,Senegal"], tag="again")
    again = {r.case_key: r for r in _by_org(ctx)["org-a"]}
    assert {k: r.cohort for k, r in again.items()} == {r.case_key: r.cohort for r in a.values()}
    assert {r.year_of_registration for r in again.values()} == {2016, 2017}
    # The re-upload is now later than B1: B1 is the person's counted record, same cohort.
    b1 = next(r for r in _by_org(ctx)["org-b"] if r.gender == "female"
              and r.linkage_key in {x.linkage_key for x in again.values()})
    assert b1.duplicate_of is None and b1.cohort == 2019
    assert _counted(ctx) == 3


def test_a_registration_year_after_the_year_received_gives_the_year_received() -> None:
    frame = pd.DataFrame({"case_key": ["a", "b", "c", "d"],
                          "year_of_registration": pd.array([2020, 2026, None, 2019],
                                                           dtype="Int16")})
    got = _cohorts(frame, {"d": 2015}, 2025).tolist()
    assert got == [2020, 2025, 2025, 2015]


# --- the linking rule itself -------------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GENDERS = st.sampled_from([None, "unknown", "female", "male"])
COUNTRIES = st.sampled_from([None, "unknown", "MLI", "NER"])
KEYS = st.lists(st.sampled_from(["k1", "k2", "k3", "k4", "y1", "y2"]), max_size=2, unique=True)


@st.composite
def _records(draw: st.DrawFn) -> list[Record]:
    n = draw(st.integers(0, 12))
    out = []
    for i in range(n):
        gender, country = draw(GENDERS), draw(COUNTRIES)
        out.append(Record(
            case_key=f"c{i:02d}", org_id=draw(st.integers(1, 2)), upload_id=i,
            ingested_at=T0 + timedelta(days=draw(st.integers(0, 3))), duplicate_of=None,
            cohort=2000 + i, keys=tuple(draw(KEYS)),
            attributes=tuple((f, v) for f, v in (("gender", gender), ("citizenship", country))
                             if v not in (None, "unknown"))))
    return out


@settings(max_examples=300, deadline=None)
@given(_records(), st.randoms())
def test_persons_are_consistent_whatever_the_order(records: list[Record],
                                                   rnd: random.Random) -> None:
    of = persons(records)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert persons(shuffled) == of  # stored order decides, not the order of reading
    members: dict[str, list[Record]] = {}
    for r in records:
        members.setdefault(of[r.case_key].case_key, []).append(r)
    for counted, group in members.items():
        first = min(group, key=lambda r: (r.ingested_at, r.case_key))
        assert first.case_key == counted  # the earliest stored record is counted
        for f in AGREE:  # a person never holds two different known values
            assert len({v for r in group for g, v in r.attributes if g == f}) <= 1
        if len(group) > 1:  # linked only through shared keys
            assert all(r.keys for r in group)
    for r in records:
        if not r.keys:
            assert of[r.case_key] == r
    # two records that share a key are one person unless their persons contradict
    known = {counted: {(g, v) for r in group for g, v in r.attributes}
             for counted, group in members.items()}
    for a in records:
        for b in records:
            pa, pb = of[a.case_key].case_key, of[b.case_key].case_key
            if set(a.keys) & set(b.keys) and pa != pb:
                both = known[pa] | known[pb]
                assert any(len({v for g, v in both if g == f}) > 1
                           for f in (*AGREE, "linkage_key")), (a, b)


# --- attack (e): the partner's report never reflects another organisation ------------------------

PROBE = ["P1,Aminata Diallo,12/03/1999,,2022,F,Mali",
         "P2,Aminata Diallo,12/03/1999,,2022,F,Mali",  # a repeat of this organisation's own
         "P3,Fatou Sow,01/01/2001,,2022,F,Senegal"]


def _report(result: pipeline.IngestResult) -> str:
    return json.dumps(result.report, sort_keys=True, ensure_ascii=False)


def test_a_probe_upload_reports_the_same_whether_or_not_another_partner_holds_the_person(
        orgs: pipeline.Context, tmp_path: Path) -> None:
    ctx = orgs
    # org-b probes while nobody else holds the person ...
    alone = _ingest(ctx, tmp_path, "org-b", PROBE, version="probe/1")
    # ... org-a records the same people; org-c sends the very same probe.
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2020,F,Mali",
                                     "A2,Fatou Sow,01/01/2001,,2020,F,Senegal"])
    held = _ingest(ctx, tmp_path, "org-c", PROBE, version="probe/1")
    assert _report(alone) == _report(held)
    assert alone.report["repeat_records"] == 2  # P1 and P2: this organisation's own repeat
    assert "duplicates_marked" not in alone.report
    # the attack would have worked: org-c's records are marked against other partners
    with ctx.engine.connect() as conn:
        c_id = pipeline.org_id_of(conn, "org-c")
        marks = conn.execute(sa.select(cases.c.duplicate_of).where(
            cases.c.org_id == c_id)).scalars().all()
    assert all(m is not None for m in marks)


def test_a_re_upload_that_drops_the_name_unlinks_its_record(orgs: pipeline.Context,
                                                            tmp_path: Path) -> None:
    ctx = orgs
    _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,,2021,F,Mali"])
    _ingest(ctx, tmp_path, "org-b", ["B7,Aminata Diallo,12/03/1999,,2022,F,Mali"])
    assert _counted(ctx) == 1
    _ingest(ctx, tmp_path, "org-a", ["A1,,,,2021,F,Mali"], tag="unnamed")
    b7 = _by_org(ctx)["org-b"][0]
    assert b7.duplicate_of is None and b7.cohort == 2021  # its person's cohort, kept
    assert _counted(ctx) == 2
