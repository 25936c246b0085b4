"""Done-criterion (h) of issue 14: no file or page of a release states an exact figure of the
snapshot (cases, cases per cohort or year of registration, suppressed k-anonymity records),
its content hash, or the slug or name of a partner that declined to be named.

The data is generated so that every exact figure is a number that cannot appear by chance:
cohorts of 1,129 (2019), 1,237 (2021) and 1,453 (2023) persons — four-digit primes, neither
years nor products of the small domain sizes a release states — 3,819 in all; and cohort
2019, closed before the second release, holds 157 persons (a prime) that are unique on the
quasi-identifiers however far they are generalised, so that its k-anonymised file suppresses
exactly those 157 (checked below from the file). Numbers are matched as whole tokens (not
inside a longer number, a decimal, a version or a hex digest), with or without a thousands
separator. Values that are differentially private outputs are not exact figures, even when
the noise happens to land on the truth: the DP tables' measurement columns, and the synthetic
data's noisy number of rows; those positions are masked before the scan, nothing else is.
A site page's traced figures (data-src) are checked at their source file, which is scanned.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from ctcollab import pipeline
from ctcollab.settings import load_settings
from privacy.spec import DEFAULT_SPEC
from schemas.tables import counted_cases
from tests.publish.site_support import parse

COHORTS = {2019: 1129, 2021: 1237, 2023: 1453}
OUTLIERS = 157  # of cohort 2019: each unique at every affordable generalisation
TOTAL = sum(COHORTS.values())  # 3,819
NAMED = ("ong-espoir-sahel", "ONG Espoir Sahel")
UNNAMED = ("refuge-discret-qx", "Refuge Discret Qx Association")
MAPPING = """\
mapping_version: "{slug}/1"
case_id: "case"
constants: {{data_source: case_management}}
fields:
  year_of_registration: {{column: "registered", date_format: "%Y-%m-%d"}}
  gender: {{column: "gender"}}
  age_broad: {{column: "age", kind: years}}
  citizenship: {{column: "citizenship"}}
  country_of_exploitation: {{column: "exploited_in"}}
  exploitation_type: {{column: "exploitation", separator: ";"}}
"""
HEADER = ["case", "registered", "gender", "age", "citizenship", "exploited_in", "exploitation"]
# The bulk: a few large classes. Outliers: other genders, ages, regions (Americas, Europe,
# Asia, Oceania), each combination different, so that no generalisation short of suppressing
# whole quasi-identifiers gathers k of them.
BULK = {"gender": ["Female", "Male"], "age": ["19", "22", "25"],
        "citizenship": ["NGA", "GHA"], "exploited_in": ["LBY", "NER"]}
OUTLIER_CITIZENSHIP = ["BRA", "PER", "MEX", "POL", "UKR", "ROU", "IND", "VNM", "PHL", "FJI",
                       "PNG", "CAN", "DEU", "CHN", "AUS", "ARG", "NOR", "JPN", "TUR", "USA"]
OUTLIER_EXPLOITATION = ["USA", "JPN", "AUS", "KOR", "THA", "CHL", "GBR", "RUS", "NZL", "COL",
                        "SAU", "IDN", "ESP", "MYS", "ISL", "URY", "CAN", "MNG", "SGP", "PAN"]
OUTLIER_AGES = ["5", "12", "15", "42", "55", "61"]
OUTLIER_GENDERS = ["Transgender", "Unknown"]


def _rows(rng: random.Random) -> Iterator[list[str]]:
    n = 0
    for year, size in COHORTS.items():
        outliers = OUTLIERS if year == 2019 else 0
        for i in range(size - outliers):
            n += 1
            yield [f"B-{n:05d}", f"{year}-0{1 + i % 9}-1{i % 9}",
                   *(rng.choice(BULK[c]) for c in ("gender", "age", "citizenship",
                                                   "exploited_in")),
                   rng.choice(["Forced labour", "Sexual exploitation"])]
        combos = [(g, a, c, e) for g in OUTLIER_GENDERS for a in OUTLIER_AGES
                  for c in OUTLIER_CITIZENSHIP for e in OUTLIER_EXPLOITATION]
        for g, a, c, e in rng.sample(combos, outliers):
            n += 1
            yield [f"O-{n:05d}", f"{year}-06-15", g, a, c, e, "Forced labour"]


def _extracts(folder: Path) -> list[tuple[str, Path, Path]]:
    """The records split between the named and the unnamed partner, one CSV each."""
    rng = random.Random(20260402)
    rows = list(_rows(rng))
    out = []
    for k, (slug, _name) in enumerate((NAMED, UNNAMED)):
        data, mapping = folder / f"{slug}.csv", folder / f"{slug}.yaml"
        with data.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            w.writerows(rows[k::2])
        mapping.write_text(MAPPING.format(slug=slug), encoding="utf-8")
        out.append((slug, data, mapping))
    return out


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two releases through the pipeline: all cohorts open, then with cohort 2019 closed
    (its k-anonymised file is made then)."""
    home = tmp_path_factory.mktemp("scan-home")
    ctx = pipeline.init(load_settings(home=home))
    pipeline.add_org(ctx, NAMED[0], NAMED[1], named_contributor=True)
    pipeline.add_org(ctx, UNNAMED[0], UNNAMED[1], named_contributor=False)
    (home / "extracts").mkdir()
    for slug, data, mapping in _extracts(home / "extracts"):
        pipeline.ingest_file(ctx, slug, data, mapping=mapping)
    spec = DEFAULT_SPEC.read_text(encoding="utf-8")
    assert "max_suppression: 0.05" in spec
    # Room to suppress the 157 outliers of cohort 2019 (the limit is a share of the cohort).
    (home / "spec.yaml").write_text(spec.replace("max_suppression: 0.05",
                                                 "max_suppression: 0.3"), encoding="utf-8")
    first = pipeline.release(ctx, version="2026.05.01", spec_path=home / "spec.yaml").path
    pipeline.close_cohort(ctx, 2019)
    second = pipeline.release(ctx, version="2026.05.02", spec_path=home / "spec.yaml").path
    with ctx.engine.connect() as conn:
        counted = counted_cases().subquery()
        per_year = dict(conn.execute(
            sa.select(counted.c.year_of_registration, sa.func.count())
            .group_by(counted.c.year_of_registration)).all())
        from privacy import snapshot as snapshots

        snap = snapshots.materialise(conn)
        content_hash = snap.content_hash(conn)
        snapshots.clear(conn)
    ctx.engine.dispose()
    return {"releases": [first, second], "per_year": per_year, "hash": content_hash}


def test_the_data_is_as_designed(released: dict[str, Any]) -> None:
    """The exact figures the scan looks for are the ones stored (so that the scan means
    something), and cohort 2019's k-anonymised file suppressed exactly the outliers."""
    assert released["per_year"] == COHORTS
    second = released["releases"][1]
    kanon = second / "cohorts" / "2019" / "cases_kanon.csv"
    assert kanon.is_file(), "the closed cohort's k-anonymised file"
    with kanon.open(encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    assert COHORTS[2019] - rows == OUTLIERS
    assert re.fullmatch(r"[0-9a-f]{64}", released["hash"])


# --- the scan ---------------------------------------------------------------------------

# Noisy outputs: the DP tables' cells, their raw sums, and each cohort's raw measurements.
MEASURES = {"count", "lower_95", "upper_95", "estimate", "variance", "noisy_count"}
# Attributes that hold positions, not figures: SVG geometry, and the row of a file a figure
# is traced to (its text is scanned in that file).
POSITIONS = {"x", "y", "x1", "x2", "y1", "y2", "width", "height", "viewbox", "transform",
             "data-row"}
SYNTHETIC_ROWS = re.compile(r"Rows: \d+ \(the number of cases, estimated with noise: \d+")
CHANGELOG_TOTALS = re.compile(r"^\| \d{4} \| \d+ \| \d+ \| [+-]\d+ \|$", re.MULTILINE)


def _csv_cells(header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    """Every cell but a DP table's measurements (noisy outputs, not exact figures)."""
    yield from (str(h) for h in header)
    keep = [i for i, h in enumerate(header) if str(h) not in MEASURES]
    for row in rows:
        for i in keep:
            if i < len(row) and row[i] is not None:
                yield str(row[i])


def _json_texts(value: Any, synthetic: bool = False, key: str = "") -> Iterator[str]:
    """Every key and value, but a file's own size and a synthetic file's noisy row count."""
    if isinstance(value, dict):
        synthetic = synthetic or value.get("method") == "dp-synthetic"
        for k, v in value.items():
            yield str(k)
            if k == "bytes" or (synthetic and k in ("rows", "n_estimate")):
                continue
            yield from _json_texts(v, synthetic, k)
    elif isinstance(value, list):
        for v in value:
            yield from _json_texts(v, synthetic, key)
    elif value is not None:
        # The synthetic report's sentence of its noisy row count, wherever it is quoted (a
        # cohort's synthetic file carries its report in the JSON beside it).
        yield SYNTHETIC_ROWS.sub("Rows: (noisy)", str(value))


def _html_texts(path: Path) -> Iterator[str]:
    page = parse(path)
    for text, holder in page.texts:
        chain = [holder, *holder.ancestors()]
        if not any("data-src" in e.attrs for e in chain):
            yield SYNTHETIC_ROWS.sub("Rows: (noisy)", text)
    for e in page.elements:
        for name, value in e.attrs.items():
            if name.lower() not in POSITIONS:
                yield value


def texts_of(path: Path) -> Iterator[str]:
    """What a reader can read in a file, as text, decoded by its format."""
    suffix = path.suffix
    if suffix == ".parquet":
        table = pq.read_table(path)
        yield from _csv_cells(table.column_names,
                              [list(r.values()) for r in table.to_pylist()])
        yield json.dumps({k.decode(): v.decode("utf-8", "replace")
                          for k, v in (table.schema.metadata or {}).items()})
    elif suffix == ".xlsx":
        book = load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            if rows:
                yield from _csv_cells([str(h) for h in rows[0]], rows[1:])
        with zipfile.ZipFile(path) as z:  # document properties (creator, title, ...)
            yield from (z.read(n).decode("utf-8", "replace") for n in z.namelist()
                        if n.startswith("docProps/"))
    elif suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        yield from _csv_cells(rows[0], rows[1:]) if rows else iter(())
    elif suffix in (".json", ".jsonld"):
        yield from _json_texts(json.loads(path.read_text(encoding="utf-8")))
    elif suffix == ".html":
        yield from _html_texts(path)
    else:
        text = path.read_text(encoding="utf-8")
        text = SYNTHETIC_ROWS.sub("Rows: (noisy)", text)
        yield CHANGELOG_TOTALS.sub("| (noisy totals) |", text) if path.name == "CHANGELOG.md" \
            else text


def _number(n: int) -> re.Pattern[str]:
    """``n`` as a whole token: 3819, 3,819, 3 819 (any space), not inside 13819, 3.819,
    0.3819, 2026.3819 or a hex digest."""
    digits = str(n)
    grouped = digits[:-3] + r"[,\u00a0\u202f ]?" + digits[-3:] if n >= 1000 else digits
    return re.compile(rf"(?<![\w.,\u00a0\u202f]){grouped}(?![\w]|[.,]\d)")


def _needles(released: dict[str, Any]) -> dict[str, re.Pattern[str]]:
    needles = {f"{TOTAL:,} counted cases": _number(TOTAL),
               f"{OUTLIERS} suppressed k-anonymity records": _number(OUTLIERS)}
    needles |= {f"{n:,} persons of cohort {y}": _number(n) for y, n in COHORTS.items()}
    needles["the snapshot's content hash"] = re.compile(released["hash"], re.IGNORECASE)
    needles["the unnamed partner's slug"] = re.compile(re.escape(UNNAMED[0]), re.IGNORECASE)
    needles["the unnamed partner's name"] = re.compile(re.escape(UNNAMED[1]), re.IGNORECASE)
    return needles


def test_no_file_of_a_release_states_an_exact_figure_or_an_unnamed_partner(
        released: dict[str, Any]) -> None:
    needles = _needles(released)
    found: list[str] = []
    scanned = 0
    for release in released["releases"]:
        files = sorted(p for p in release.rglob("*") if p.is_file())
        assert {".csv", ".parquet", ".xlsx", ".json", ".html", ".md", ".jsonld",
                ".cff"} <= {p.suffix for p in files}
        for path in files:
            scanned += 1
            for text in texts_of(path):
                for what, pattern in needles.items():
                    match = pattern.search(text)
                    if match:
                        at = text[max(0, match.start() - 40):match.end() + 40]
                        found.append(f"{path.relative_to(release.parent)}: {what}: …{at}…")
    assert found == [], "\n".join(found[:20])
    assert scanned > 200


def test_the_scan_finds_what_it_looks_for(released: dict[str, Any], tmp_path: Path) -> None:
    """The same scan over planted statements of each figure finds every one of them, and the
    named partner (whose name may be published) is found in the release."""
    needles = _needles(released)
    planted = tmp_path / "planted.md"
    planted.write_text(
        f"{TOTAL} cases; Records suppressed: {OUTLIERS} of 1,129; cohort 2021: 1 237; "
        f"2023: 1453.\nsnapshot {released['hash']}\nmapping {UNNAMED[0]}/1 by {UNNAMED[1]}\n",
        encoding="utf-8")
    text = "".join(texts_of(planted))
    assert [w for w, p in needles.items() if not p.search(text)] == []
    # Not found by chance in figures that merely contain the digits.
    for harmless in ("13819", "3.819", "0.1129", "2026.1237", "a1453f", "1129.0", "1,4530"):
        assert not any(p.search(harmless) for p in needles.values()), harmless
    second = released["releases"][1]
    dp = json.loads((second / "datapackage.json").read_text(encoding="utf-8"))
    assert [c["title"] for c in dp["contributors"]] == [NAMED[1]]
    assert NAMED[1] in (second / "CITATION.cff").read_text(encoding="utf-8")
