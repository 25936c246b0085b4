"""API keys from the command line (the real CLI, in process): issue, list, revoke."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from api.auth import organisation_for_key
from ctcollab.cli import app
from ctcollab.database import make_engine
from schemas.errors import Unauthorized


def _cli(home: Path, *args: str) -> Result:
    """The command line in process (Typer's runner): same parsing, errors and exit codes."""
    return CliRunner().invoke(app, list(args), env={"CTCOLLAB_HOME": str(home),
                                                    "CTCOLLAB_DATABASE_URL": None})


def test_new_key_list_and_revoke(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "init").exit_code == 0
    first = _cli(home, "org", "add", "ong-a", "--name", "ONG A").stdout.strip().splitlines()[-1]
    added = _cli(home, "org", "new-key", "ong-a")
    assert added.exit_code == 0, added.output
    second = added.stdout.strip().splitlines()[-1]
    assert second.startswith("ctc_") and second != first

    listed = _cli(home, "org", "keys", "ong-a").stdout
    assert first[:12] in listed and second[:12] in listed and second not in listed

    assert _cli(home, "org", "revoke-key", "ong-a", first[:12]).exit_code == 0
    engine = make_engine(f"sqlite:///{home.resolve() / 'ctcollab.db'}")
    try:
        assert organisation_for_key(engine, second).slug == "ong-a"
        try:
            organisation_for_key(engine, first)
            raise AssertionError("a revoked key was accepted")
        except Unauthorized:
            pass
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from api_keys where revoked_at is "
                                        "not null")).scalar_one() == 1
    finally:
        engine.dispose()

    again = _cli(home, "org", "revoke-key", "ong-a", first[:12])
    assert again.exit_code == 1 and "no live key" in again.stderr
    assert _cli(home, "org", "revoke-key", "ong-a", "ctc_").exit_code == 2
    assert _cli(home, "org", "new-key", "nobody").exit_code == 1
