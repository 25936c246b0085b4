"""The partner portal's catalogue (api/templates/partner_strings.yaml): complete in every
language, and covering every text partner.js and the templates ask for."""

from __future__ import annotations

import re
import string
from importlib import resources
from typing import Any

import pytest
import yaml

import api.intake
import harmonize.errors
import harmonize.htcds
import ingest.errors
from api.routes.site import MissingPortalText, portal_catalogue, portal_texts
from ingest import uploads
from publish.site.labels import LANGUAGES, MissingTranslation, ui
from schemas.errors import CtcollabError

SECTIONS = ("page", "script", "status", "reasons", "errors")
# Slots a language may use beyond English's: French names a server problem by its French title
# before the server's (English) detail; English shows the detail alone, as it always did.
EXTRA_SLOTS = {("script", "problem", "fr"): {"title"}}


def _raw() -> dict[str, Any]:
    text = resources.files("api").joinpath("templates/partner_strings.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _api_file(name: str) -> str:
    return resources.files("api").joinpath(name).read_text("utf-8")


def _slots(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_a_text_in_every_language_and_the_same_slots() -> None:
    data = _raw()
    assert set(data) == set(SECTIONS)
    for section, entries in data.items():
        assert entries, section
        for key, texts in entries.items():
            assert set(texts) == set(LANGUAGES), (section, key)
            for lang in LANGUAGES:
                assert isinstance(texts[lang], str) and texts[lang], (section, key, lang)
            english = _slots(texts["en"])
            for lang in LANGUAGES:
                extra = EXTRA_SLOTS.get((section, key, lang), set())
                assert _slots(texts[lang]) == english | extra, (section, key, lang)
    # ...and the loader serves exactly that, in each language.
    for lang in LANGUAGES:
        texts = portal_texts(lang)
        assert {s: set(e) for s, e in texts.items()} == {s: set(e) for s, e in data.items()}


def test_a_missing_text_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _raw()
    del broken["script"]["summary"]["fr"]
    monkeypatch.setattr(yaml, "safe_load", lambda _text: broken)
    portal_catalogue.cache_clear()
    try:
        with pytest.raises(MissingPortalText, match=r"script\.summary"):
            portal_catalogue()
    finally:
        monkeypatch.undo()
        portal_catalogue.cache_clear()
    assert portal_catalogue()["script"]["summary"]["fr"]


def test_every_text_the_script_uses_is_in_the_catalogue() -> None:
    script = _api_file("static/partner.js")
    used = set(re.findall(r'\bt\("([a-z_]+)"', script))
    assert used == set(_raw()["script"]), used ^ set(_raw()["script"])  # none missing or unused
    maps = set(re.findall(r'\bknown\("([a-z]+)"', script))
    assert maps == {"status", "reasons", "errors"}
    # No text of its own: no string literal holds a capitalised word or a non-ASCII letter,
    # but the storage key and the authorisation header.
    code = re.sub(r"//.*", "", script)
    literals = re.findall(r'"([^"\\]*)"', code)
    words = [s for s in literals if re.search(r"[A-Z][a-z]|[^\x00-\x7f]", s)]
    assert set(words) == {"ctcollab.apiKey", "Authorization", "Bearer "}, words
    assert "'" not in code and "`" not in code  # every literal is double-quoted


def test_every_text_the_templates_use_resolves_in_every_language() -> None:
    page = set(_raw()["page"])
    used: set[str] = set()
    for template in ("templates/partner.html", "templates/base.html"):
        for key in re.findall(r'''_\(["']([a-z_]+)["']''', _api_file(template)):
            used.add(key)
            if key in page:
                continue
            for lang in LANGUAGES:  # the shared chrome: publish's catalogue
                try:
                    ui(key, lang)
                except MissingTranslation:
                    pytest.fail(f"{template}: {key!r} is in neither catalogue ({lang})")
    assert page <= used, page - used  # no page text left unused


def test_every_upload_status_has_a_name() -> None:
    statuses = {uploads.RECEIVED, uploads.PARSED, uploads.HARMONISED, uploads.REJECTED,
                uploads.FAILED, uploads.WITHDRAWN}
    assert set(_raw()["status"]) == statuses


def test_every_quarantine_reason_is_explained() -> None:
    """The reason codes the harmonisers set rows aside with (literals in their source)."""
    found: set[str] = set()
    for module in ("harmonizer.py", "htcds.py"):
        source = resources.files("harmonize").joinpath(module).read_text("utf-8")
        found |= set(re.findall(r'reject\([^)]*"([a-z-]+)"\)', source))
        found |= set(re.findall(r'reason = "([a-z-]+)"', source))
        for group in re.findall(r"for reason in \(([^)]*)\)", source):
            found |= set(re.findall(r'"([a-z-]+)"', group))
    assert {"date-unparseable", "year-out-of-range", "age-unparseable", "case-id-missing",
            "empty-row", "no-consent"} <= found
    assert found <= set(_raw()["reasons"]), found - set(_raw()["reasons"])


def _subclasses(cls: type[CtcollabError]) -> list[type[CtcollabError]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _subclasses(sub))]


def test_every_error_an_upload_can_meet_has_a_title() -> None:
    modules = {m.__name__ for m in (ingest.errors, harmonize.errors, harmonize.htcds, api.intake)}
    codes = {c.code for c in _subclasses(CtcollabError) if c.__module__ in modules}
    assert {"unsupported-format", "no-mapping", "missing-file"} <= codes
    assert codes <= set(_raw()["errors"]), codes - set(_raw()["errors"])
