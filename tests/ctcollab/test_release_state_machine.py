"""Attack (a): random sequences of uploads, edits, withdrawals, releases and closures never
take a cohort over its lifetime cap, and averaging everything published learns no more than
one release at the cap would."""

from __future__ import annotations

import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ctcollab import pipeline
from ctcollab.settings import load_settings
from privacy import ledger
from schemas.errors import BudgetExceeded, Conflict
from schemas.tables import releases
from tests.ctcollab.privacy_support import COHORTS, GENDERS, datapackage, ingest, write_inputs

CAP_RHO = Fraction(1)


class Releases(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ctc-sm-"))
        self.ctx = pipeline.init(load_settings(home=self.folder / "home"))
        self.spec, self.mapping = write_inputs(self.folder / "inputs")
        pipeline.add_org(self.ctx, "ong-test", "ONG Test")
        with self.ctx.engine.begin() as conn:
            ledger.set_cap(conn, ledger.Cap.of(CAP_RHO, 1e-6), reason="test")
        self.n = 0
        self.uploads: list[int] = []
        self.ids: list[tuple[str, int]] = []
        self.closed: set[int] = set()
        self.released: list[str] = []
        # cohort -> the bytes of its files when it closed (after its first release as closed)
        self.frozen: dict[int, dict[str, bytes]] = {}

    def teardown(self) -> None:
        self.ctx.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _ingest(self, rows: list[tuple[str, int, str]]) -> None:
        self.n += 1
        result = ingest(self.ctx, self.folder, f"u{self.n}", rows, self.mapping)
        if not result.duplicate:
            self.uploads.append(result.upload_id)

    @rule(cohort=st.sampled_from(COHORTS), size=st.integers(1, 6),
          gender=st.sampled_from(GENDERS))
    def upload(self, cohort: int, size: int, gender: str) -> None:
        rows = [(f"C{self.n}-{i}", cohort, gender) for i in range(size)]
        self.ids += [(r[0], r[1]) for r in rows]
        self._ingest(rows)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), gender=st.sampled_from(GENDERS), cohort=st.sampled_from(COHORTS))
    def edit(self, data: st.DataObject, gender: str, cohort: int) -> None:
        local_id, _year = data.draw(st.sampled_from(self.ids))
        self._ingest([(local_id, cohort, gender)])  # even the year: the cohort stays

    @precondition(lambda self: bool(self.uploads))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        upload_id = data.draw(st.sampled_from(self.uploads))
        self.uploads.remove(upload_id)
        pipeline.withdraw(self.ctx, "ong-test", upload_id)

    @rule()
    def release(self) -> None:
        version = f"v{len(self.released) + 1}"
        before = self._ledger()
        try:
            result = pipeline.release(self.ctx, spec_path=self.spec, version=version)
        except BudgetExceeded:
            assert self._ledger() == before  # refused before anything was recorded
            assert not (self.ctx.settings.releases_dir / version).exists()
            return
        self.released.append(version)
        for cohort in self.closed:
            files = _files(result.path, cohort)
            if cohort not in self.frozen:
                # Closed before any release measured it: measured once, now, then final.
                self.frozen[cohort] = files
                continue
            assert files == self.frozen[cohort]  # carried byte for byte, forever
            assert cohort not in result.spent

    @rule(cohort=st.sampled_from(COHORTS))
    def close(self, cohort: int) -> None:
        try:
            pipeline.close_cohort(self.ctx, cohort)
        except Conflict:
            assert cohort in self.closed
            return
        self.closed.add(cohort)
        if self.released:  # its files in the latest release are now final
            self.frozen[cohort] = _files(
                self.ctx.settings.releases_dir / self.released[-1], cohort)

    def _ledger(self) -> dict[int, ledger.Budget]:
        with self.ctx.engine.connect() as conn:
            return ledger.totals(conn)

    @invariant()
    def every_cohort_within_its_cap(self) -> None:
        for cohort, spent in self._ledger().items():
            assert spent.rho <= CAP_RHO, (cohort, spent)

    @invariant()
    def averaging_everything_published_is_bounded_by_the_cap(self) -> None:
        """The inverse-variance average of every measurement a cohort ever had published:
        its information (sum of 1 / (2 scale^2) = sum of rho) stays within the cap."""
        with self.ctx.engine.connect() as conn:
            versions = [r.version for r in conn.execute(
                sa.select(releases.c.version).order_by(releases.c.id))]
        information: dict[int, float] = {}
        for v in versions:
            folder = self.ctx.settings.releases_dir / v
            measured = {c["cohort"] for c in datapackage(folder)["ctcollab"]["privacy_ledger"]
                        ["cohorts"] if c["measured_in_this_release"]}
            for cohort in measured:
                for table in ("by_gender", "by_year"):
                    frame = pd.read_csv(folder / "cohorts" / str(cohort) / f"{table}.csv")
                    scale = float(frame["noise_scale"].iloc[0])
                    information[cohort] = information.get(cohort, 0.0) + 1 / (2 * scale**2)
        assert all(i <= float(CAP_RHO) * (1 + 1e-9) for i in information.values())


def _files(release: Path, cohort: int) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((release / "cohorts" / str(cohort)).iterdir())}


TestReleases = Releases.TestCase
TestReleases.settings = settings(max_examples=8, stateful_step_count=12, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])
