"""A release's documents: codebook, methodology, workbook, citation, JSON-LD and changelog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from openpyxl import Workbook
from openpyxl.styles import Font

from harmonize import htcds
from privacy import cohorts, intervals
from publish import ledger
from publish.meta import LICENCES, ReleaseMeta
from publish.resources import Resource
from schemas.codebook import codebook
from schemas.definition import SCHEMA


def environment(folder: str = "templates") -> jinja2.Environment:
    """Jinja2 over one of publish's template folders: strict (a missing value is an error,
    never an empty cell of a published document), HTML autoescaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("publish", folder),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


TEMPLATES = environment()
PUBLISHER = "ctcollab counter-trafficking data collaborative"


def _context(meta: ReleaseMeta, resources: list[Resource], dp: dict[str, Any]) -> dict[str, Any]:
    variables = codebook()
    return {
        "meta": meta,
        "version": meta.version,
        "title": meta.title,
        "schema_version": SCHEMA.version,
        "variables": variables,
        "countries": next(v for v in variables if v.name == "citizenship").values,
        "resources": resources,
        "entries": {e["name"]: e for e in dp["resources"]},
        "licence": LICENCES.get(meta.licence, (meta.licence, ""))[0],
        "libraries": dp["ctcollab"]["libraries"],
        "citation": citation_text(meta),
        "crosswalk": htcds.crosswalk_rows(),
        "htcds_note": htcds.METHODOLOGY_NOTE,
        "duplicate_rule": SCHEMA.field("duplicate_of").description,
        "not_published": meta.extra.get("not_published", []),
        "privacy_model": cohorts.METHODOLOGY,
        "publication_rule": intervals.METHODOLOGY,
        # As datapackage.json states it (checked against the documented shape there).
        "ledger": dp["ctcollab"]["privacy_ledger"],
        "weakest": ledger.weakest_kanon(dp["ctcollab"]["privacy_ledger"]),
        "ledger_keys": ledger.documented_keys(),
    }


def citation_text(meta: ReleaseMeta) -> str:
    return (f"{PUBLISHER} ({meta.created.year}). {meta.title}, release {meta.version}. "
            f"Licence {meta.licence}.")


def write_documents(folder: Path, meta: ReleaseMeta, resources: list[Resource],
                    dp: dict[str, Any], previous: Path | None) -> None:
    """Everything a reader needs beside the data, filled with this release's parameters."""
    ctx = _context(meta, resources, dp)
    for name in ("codebook", "methodology"):
        for ext in ("html", "md"):
            text = TEMPLATES.get_template(f"{name}.{ext}").render(**ctx)
            (folder / f"{name}.{ext}").write_text(text, encoding="utf-8")
    (folder / "CITATION.cff").write_text(_citation_cff(meta), encoding="utf-8")
    (folder / "dataset.jsonld").write_text(
        json.dumps(_json_ld(meta, dp), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "CHANGELOG.md").write_text(_changelog(meta, dp, previous, folder),
                                         encoding="utf-8")


def write_workbook(path: Path, meta: ReleaseMeta, tables: list[Resource]) -> None:
    """The aggregate tables as one Excel workbook for journalists: a readme and a sheet each."""
    wb = Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = "README"
    readme.append([meta.title])
    readme["A1"].font = Font(bold=True, size=14)
    readme.append([f"Release {meta.version}. {citation_text(meta)}"])
    readme.append(["Counts are differentially private: each carries noise, a 95% interval "
                   "(lower_95, upper_95) and a flag: c = below the threshold, withheld; "
                   "u = low reliability."])
    readme.append(["What the release spent of each cohort's lifetime privacy budget: "
                   "methodology.html, section 'The privacy ledger'."])
    readme.append([])
    for t in tables:
        readme.append([t.name, t.title])
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        ws.append(list(t.frame.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.frame.astype(object).where(t.frame.notna(), None).itertuples(index=False):
            ws.append(list(row))
        ws.freeze_panes = "A2"
    wb.properties.created = meta.created.replace(tzinfo=None)
    wb.save(path)


def _citation_cff(meta: ReleaseMeta) -> str:
    data = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": meta.title,
        "version": meta.version,
        "date-released": meta.created.date().isoformat(),
        "license": meta.licence,
        "authors": [{"name": PUBLISHER}] + [{"name": c} for c in meta.contributors],
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _json_ld(meta: ReleaseMeta, dp: dict[str, Any]) -> dict[str, Any]:
    _, licence_url = LICENCES.get(meta.licence, (meta.licence, ""))
    return {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": meta.title,
        "version": meta.version,
        "identifier": f"ctcollab-{meta.version}-{meta.release_id}",
        "datePublished": meta.created.date().isoformat(),
        "license": licence_url or meta.licence,
        "description": ("Privacy-protected open data on identified victims of human "
                        "trafficking, harmonised to CTDC's variables."),
        "creator": {"@type": "Organization", "name": PUBLISHER},
        "contributor": [{"@type": "Organization", "name": c} for c in meta.contributors],
        "keywords": ["human trafficking", "counter-trafficking", "differential privacy",
                     "k-anonymity", "CTDC"],
        "citation": citation_text(meta),
        "distribution": [{"@type": "DataDownload", "name": r["name"], "contentUrl": r["path"],
                          "encodingFormat": "text/csv"} for r in dp["resources"]],
    }


def _totals_by_year(folder: Path) -> dict[str, int]:
    """Published (noisy) totals per year from a release's year table, if it has one."""
    for csv in sorted((folder / "data").glob("*.csv")):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if list(frame.columns[:2]) == ["year_of_registration", "country_of_exploitation"] \
                and "count" in frame.columns and len(frame.columns) == 6:
            counts = pd.to_numeric(frame["count"], errors="coerce").fillna(0)
            return {str(k): int(v) for k, v in counts.groupby(frame["year_of_registration"]).sum()
                    .items() if k}
    return {}


def _spent_line(privacy_ledger: dict[str, Any]) -> list[str]:
    """What the release spent, from its public ledger (nothing when none was recorded)."""
    if not privacy_ledger:
        return []
    total, delta = privacy_ledger["release"]["total"], privacy_ledger["cap"]["delta"]
    epsilon = "n/a" if total["epsilon"] is None else f"{total['epsilon']:.4g}"
    return [f"- Privacy budget spent by this release: rho = {total['rho']:.4g} (epsilon = "
            f"{epsilon} at delta = {delta:.0e}) for the most charged cohort; each cohort's "
            "lifetime spend is in the methodology's privacy ledger.", ""]


def _changelog(meta: ReleaseMeta, dp: dict[str, Any], previous: Path | None,
               folder: Path) -> str:
    """What changed since the previous release, computed from published figures only."""
    lines = [f"# Changes in release {meta.version}", ""]
    spent = _spent_line(dp["ctcollab"]["privacy_ledger"])
    if previous is None or not (previous / "datapackage.json").exists():
        lines += ["First release.", "", *spent]
        return "\n".join(lines)
    old = json.loads((previous / "datapackage.json").read_text(encoding="utf-8"))
    lines += [f"Compared with release {old['version']}.", ""]
    old_names = {r["name"] for r in old["resources"]}
    new_names = {r["name"] for r in dp["resources"]}
    for name in sorted(new_names - old_names):
        lines.append(f"- New resource `{name}`.")
    for name in sorted(old_names - new_names):
        lines.append(f"- Resource `{name}` is no longer published.")
    old_schema = old.get("ctcollab", {}).get("schema_version")
    if old_schema != SCHEMA.version:
        lines.append(f"- Common schema {old_schema} → {SCHEMA.version}.")
    old_contrib = {c["title"] for c in old.get("contributors", [])}
    for c in sorted(set(meta.contributors) - old_contrib):
        lines.append(f"- New contributor: {c}.")
    lines += spent
    before, after = _totals_by_year(previous), _totals_by_year(folder)
    if before or after:
        lines += ["", "Published totals by year of registration (noisy counts: a difference "
                  "within the intervals is noise, not change):", "",
                  f"| year | {old['version']} | {meta.version} | change |", "|---|---|---|---|"]
        for year in sorted(set(before) | set(after)):
            b, a = before.get(year, 0), after.get(year, 0)
            lines.append(f"| {year} | {b} | {a} | {a - b:+d} |")
    return "\n".join(lines) + "\n"
