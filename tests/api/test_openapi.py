"""Schemathesis against the app's own OpenAPI document, in process (ASGI), bounded: no 5xx,
no response that breaks the documented schema, status codes or content types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.config import ApiConfig
from ctcollab.database import make_engine, upgrade
from ctcollab.settings import Settings
from tests.api.support import Partner, add_partner, context, partner_config


def _operations() -> list[tuple[str, str]]:
    """The documented operations (the document does not depend on data or database)."""
    app = create_app(ApiConfig(releases_dir=Path("/nonexistent"), raw_dir=Path("/nonexistent"),
                               engine=sa.create_engine("sqlite://")))
    return [(method.upper(), path) for path, item in app.openapi()["paths"].items()
            for method in item]


OPERATIONS = _operations()
EXAMPLES = 20


@pytest.fixture(scope="module")
def partner(released_settings: Settings, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Any, Partner]]:
    tmp = tmp_path_factory.mktemp("openapi")
    engine = make_engine(f"sqlite:///{tmp / 'db.sqlite'}")
    upgrade(engine)
    a = add_partner(context(engine, tmp / "home"), "ong-a")
    config = partner_config(engine, tmp, releases_dir=released_settings.releases_dir,
                            run_worker=False)
    yield create_app(config), a
    engine.dispose()


@pytest.fixture
def api_schema(partner: tuple[Any, Partner]) -> Any:
    app, _ = partner
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def auth(partner: tuple[Any, Partner]) -> dict[str, str]:
    return partner[1].auth


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_its_openapi_promises(api_schema: Any, auth: dict[str, str], method: str,
                                            path: str, mode: GenerationMode) -> None:
    operation = api_schema[path][method]
    # A schema cannot say "the file must be a readable table": a valid-looking JPEG is
    # rightly a 422, so only for uploads is acceptance of schema-valid input not expected.
    excluded = [positive_data_acceptance] if (method, path) == ("POST", "/api/v1/uploads") \
        else []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth, excluded_checks=excluded)

    try:
        check()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("every input of this operation is valid (free-text path parameters only)")


def test_every_json_route_documents_its_problems(api_schema: Any, tmp_path: Path) -> None:
    document = api_schema.raw_schema
    assert "Problem" in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert "429" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], (method, path)
