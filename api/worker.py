"""The upload worker: harmonises ``parsed`` uploads off the request path, in a thread.

Its state is the ``uploads`` table, so nothing is lost when the process stops: at start it
resumes every ``parsed`` upload, and marks failed those it cannot resume (``received`` ones,
whose bytes were never checked, and ones left waiting longer than ``stale_after``).
Withdrawal goes through here too, so an upload is never withdrawn while it is being stored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from api.problems import StillProcessing
from harmonize import registry
from harmonize.process import process
from harmonize.store import withdraw_cases
from ingest import uploads
from ingest.raw_store import RawStore
from ingest.readers import read_table
from schemas.errors import InputRejected
from schemas.tables import uploads as uploads_table

log = logging.getLogger("ctcollab.api.worker")
# Uploads whose raw bytes must be kept (they may still be, or have been, harmonised).
KEEPS_BYTES = (uploads.RECEIVED, uploads.PARSED, uploads.HARMONISED, uploads.FAILED)


@dataclass(frozen=True)
class Recovery:
    resumed: tuple[int, ...]
    failed: tuple[int, ...]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def drop_raw_if_unused(db: sa.Engine | sa.Connection, store: RawStore, sha: str) -> None:
    """Delete an upload's bytes unless another upload that needs them shares them.

    Given the connection whose transaction changes an upload's status, call it before that
    transaction commits: then no one sees the new status while the bytes are still there.
    """
    query = sa.select(uploads_table.c.id).where(
        uploads_table.c.sha256 == sha, uploads_table.c.status.in_(KEEPS_BYTES))
    if isinstance(db, sa.Connection):
        used = db.execute(query).first()
    else:
        with db.connect() as conn:
            used = conn.execute(query).first()
    if used is None and store.exists(sha):
        store.delete(sha)


class UploadWorker:
    def __init__(self, engine: sa.Engine, store: RawStore, secret: Callable[[], bytes], *,
                 stale_after: float, scan_every: float, withdraw_wait: float) -> None:
        self.engine = engine
        self.store = store
        self.secret = secret
        self.stale_after = stale_after
        self.scan_every = scan_every
        self.withdraw_wait = withdraw_wait
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._queued: set[int] = set()
        self._cond = threading.Condition()
        self._current: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Recovery:
        recovery = self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ctcollab-upload-worker",
                                        daemon=True)
        self._thread.start()
        return recovery

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the upload in progress (a ``parsed`` one left is resumed next start)."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def recover(self) -> Recovery:
        """Queue every resumable ``parsed`` upload; mark the others failed."""
        now = datetime.now(UTC)
        resumed, failed = [], []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(uploads_table.c.id, uploads_table.c.status,
                          uploads_table.c.updated_at)
                .where(uploads_table.c.status.in_(uploads.OPEN))
                .order_by(uploads_table.c.id)).all()
            for row in rows:
                if row.status == uploads.RECEIVED:
                    uploads.mark(conn, row.id, uploads.FAILED, error_code="interrupted")
                    failed.append(row.id)
                elif (now - _utc(row.updated_at)).total_seconds() > self.stale_after:
                    uploads.mark(conn, row.id, uploads.FAILED, error_code="stale")
                    failed.append(row.id)
                else:
                    resumed.append(row.id)
        for upload_id in resumed:
            self.submit(upload_id)
        if resumed or failed:
            log.info("recovered uploads: %d resumed, %d marked failed", len(resumed), len(failed))
        return Recovery(tuple(resumed), tuple(failed))

    def submit(self, upload_id: int) -> None:
        with self._cond:
            if upload_id in self._queued:
                return
            self._queued.add(upload_id)
        self._queue.put(upload_id)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=self.scan_every)
            except queue.Empty:
                self._scan()
                continue
            if item is None:
                break
            with self._cond:
                self._queued.discard(item)
            try:
                self.process_one(item)
            except Exception as err:  # never let one upload stop the worker
                log.error("upload %s: worker error %s", item, type(err).__name__)

    def _scan(self) -> None:
        """Pick up ``parsed`` uploads nobody told us about (e.g. a lost submit)."""
        try:
            with self.engine.connect() as conn:
                ids = conn.execute(sa.select(uploads_table.c.id)
                                   .where(uploads_table.c.status == uploads.PARSED)
                                   .order_by(uploads_table.c.id)).scalars().all()
        except Exception as err:
            log.error("worker scan failed: %s", type(err).__name__)
            return
        for upload_id in ids:
            self.submit(int(upload_id))

    def process_one(self, upload_id: int) -> None:
        """Harmonise one upload if it is still ``parsed`` (withdrawn ones are skipped)."""
        with self._cond:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(uploads_table)
                                   .where(uploads_table.c.id == upload_id)).first()
            if row is None or row.status != uploads.PARSED:
                return
            upload = uploads.Upload.from_row(row)
            self._current = upload_id
        try:
            self._harmonise(upload)
        finally:
            with self._cond:
                self._current = None
                self._cond.notify_all()

    def _harmonise(self, upload: uploads.Upload) -> None:
        """With the organisation's registered mapping; an HTCDS extract is recognised and
        mapped by the built-in crosswalk; with neither, it is rejected (``no-mapping``)."""
        with self.engine.connect() as conn:
            mapping = registry.current(conn, upload.org_id)
        if not self.store.exists(upload.sha256):
            with self.engine.begin() as conn:
                uploads.mark(conn, upload.id, uploads.FAILED, error_code="raw-missing")
            log.error("upload %s failed: raw-missing", upload.id)
            return
        try:
            table = None
            if mapping is not None and mapping.sheet is not None:
                table = read_table(self.store.read(upload.sha256), upload.filename,
                                   sheet=mapping.sheet)
            process(self.engine, self.store, upload, mapping, secret=self.secret(), table=table,
                    explicit=False)
        except InputRejected as err:
            with self.engine.begin() as conn:
                uploads.mark(conn, upload.id, uploads.REJECTED, error_code=err.code,
                             report={"error": {"code": err.code, "title": err.title,
                                               "detail": str(err)}})
                drop_raw_if_unused(conn, self.store, upload.sha256)
            log.info("upload %s rejected: %s", upload.id, err.code)

    # --- withdrawal ---------------------------------------------------------------------------

    def withdraw(self, org_id: int, upload_id: int) -> tuple[uploads.Upload, int]:
        """Withdraw an organisation's upload: its cases go, its bytes go unless shared.

        Waits for the upload's processing to finish if it is under way (then 409 after
        ``withdraw_wait`` seconds); another organisation's upload is not found.
        """
        with self._cond:
            with self.engine.connect() as conn:
                uploads.get(conn, org_id, upload_id)  # NotFound before waiting on anything
            if not self._cond.wait_for(lambda: self._current != upload_id,
                                       timeout=self.withdraw_wait):
                raise StillProcessing("the upload is being harmonised right now",
                                      hint="withdraw it again in a few seconds")
            with self.engine.begin() as conn:
                upload = uploads.get(conn, org_id, upload_id)
                removed = 0
                if upload.status != uploads.WITHDRAWN:
                    removed = withdraw_cases(conn, upload_id)
                    uploads.mark(conn, upload_id, uploads.WITHDRAWN)
                drop_raw_if_unused(conn, self.store, upload.sha256)
            with self.engine.connect() as conn:
                return uploads.get(conn, org_id, upload_id), removed
