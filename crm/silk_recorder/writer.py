"""Hold recorded requests in a bounded buffer and write them to silk in batches.

A background thread writes a batch when SILK_RECORDER_BATCH_SIZE requests
are waiting or the oldest has waited SILK_RECORDER_FLUSH_SECONDS: one
statement per table (requests, responses, statements; an executemany
INSERT, or COPY on PostgreSQL) in one transaction, then silk's garbage
collection, once per batch. With
SILK_RECORDER_SYNCHRONOUS each request is written on its own thread as it
ends (the tests use it, so the rows are in the test's transaction).
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connections, router, transaction
from silk.models import Request, Response, SQLQuery

from crm.silk_recorder.capture import RecordedRequest
from crm.silk_recorder.rows import SilkRows
from crm.silk_recorder.tables import TableInserter, writes_made_cheap

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class WriterStats:
    """Counts since the process started (or forked)."""

    written: int = 0  # requests stored
    batches: int = 0
    statements: int = 0  # sent while writing batches, garbage collection included
    write_seconds: float = 0.0
    dropped: int = 0  # not buffered: the buffer was full
    failed: int = 0  # lost with a batch whose write failed

    def copy(self) -> WriterStats:
        return dataclasses.replace(self)


class _StatementCounter:
    def __init__(self, stats: WriterStats) -> None:
        self.stats = stats

    def __call__(self, execute, sql, params, many, context):
        self.stats.statements += 1
        return execute(sql, params, many, context)


def _option(name: str, default):
    return getattr(settings, name, default)


class RecordingWriter:
    """Buffer recordings and write them in batches, on a thread or inline."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._pending: list[RecordedRequest] = []
        self._oldest = 0.0
        self._writing = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._dropped_logged = 0
        self.stats = WriterStats()

    # --- the request's side -------------------------------------------------

    def add(self, recorded: RecordedRequest) -> None:
        """Buffer ``recorded`` (or write it now, if writing is synchronous)."""
        if _option("SILK_RECORDER_SYNCHRONOUS", False):
            self._write([recorded])
            return
        batch_size = _option("SILK_RECORDER_BATCH_SIZE", 50)
        with self._lock:
            if len(self._pending) >= _option("SILK_RECORDER_MAX_PENDING", 200):
                self.stats.dropped += 1
                return
            first = not self._pending
            if first:
                self._oldest = time.monotonic()
            self._pending.append(recorded)
            if self._thread is None:
                self._start()
            elif first or len(self._pending) >= batch_size:
                # The first wakes the thread to wait for the batch's due time.
                self._lock.notify_all()

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="silk-recorder", daemon=True
        )
        self._thread.start()

    # --- the writer thread ----------------------------------------------------

    def _next_batch(self) -> list[RecordedRequest] | None:
        """Wait for a batch to be due; return it, or None when told to stop."""
        with self._lock:
            while True:
                if self._stopping:
                    return None
                waiting = len(self._pending)
                due = self._oldest + _option("SILK_RECORDER_FLUSH_SECONDS", 2.0)
                now = time.monotonic()
                if (
                    not self._writing
                    and waiting
                    and (
                        waiting >= _option("SILK_RECORDER_BATCH_SIZE", 50) or now >= due
                    )
                ):
                    self._writing = True
                    batch, self._pending = self._pending, []
                    return batch
                self._lock.wait(timeout=max(due - now, 0.01) if waiting else None)

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                try:
                    for connection in connections.all(initialized_only=True):
                        connection.close_if_unusable_or_obsolete()
                    self._write(batch)
                finally:
                    self._done_writing()
        finally:
            connections.close_all()

    def _done_writing(self) -> None:
        with self._lock:
            self._writing = False
            self._lock.notify_all()

    # --- writing ----------------------------------------------------------------

    def _write(self, batch: list[RecordedRequest]) -> int:
        """Store ``batch`` in one transaction; return how many requests were stored.

        A batch that fails is logged and dropped rather than retried: silk's
        rows are worth less than a writer stuck on a database that is down.
        """
        if not batch:
            return 0
        begun = time.perf_counter()
        alias = router.db_for_write(SQLQuery)
        connection = connections[alias]
        counter = _StatementCounter(self.stats)
        try:
            rows = SilkRows()
            for recorded in batch:
                rows.add(recorded)
            with transaction.atomic(using=alias):
                with connection.execute_wrapper(counter):
                    writes_made_cheap(connection)
                for model, model_rows in (
                    (Request, rows.requests),
                    (Response, rows.responses),
                    (SQLQuery, rows.queries),
                ):
                    self.stats.statements += TableInserter(model).insert(
                        connection, model_rows
                    )
            with connection.execute_wrapper(counter):
                Request.garbage_collect(force=True)
        except Exception:
            self.stats.failed += len(batch)
            logger.exception(
                "silk recorder lost a batch", extra={"requests": len(batch)}
            )
            return 0
        finally:
            self.stats.write_seconds += time.perf_counter() - begun
        self.stats.written += len(batch)
        self.stats.batches += 1
        if self.stats.dropped > self._dropped_logged:
            logger.warning(
                "silk recorder buffer was full; requests not recorded",
                extra={"dropped": self.stats.dropped - self._dropped_logged},
            )
            self._dropped_logged = self.stats.dropped
        return len(batch)

    # --- flushing and stopping ---------------------------------------------------

    def flush(self) -> int:
        """Write everything buffered now, on this thread; return how many requests.

        Waits first for a batch the thread is writing, so that when this
        returns every request recorded before the call is stored (or lost).
        """
        with self._lock:
            while self._writing:
                self._lock.wait()
            batch, self._pending = self._pending, []
            self._writing = True
        try:
            return self._write(batch)
        finally:
            self._done_writing()

    def stop(self) -> None:
        """Stop the thread after the batch it is writing, then write the rest."""
        with self._lock:
            thread = self._thread
            self._stopping = True
            self._lock.notify_all()
        if thread is not None:
            thread.join()
        self._thread = None
        self.flush()

    def _flush_at_exit(self) -> None:
        if self._pending:
            self.stop()


_writer = RecordingWriter()
atexit.register(_writer._flush_at_exit)
# A forked child (a web worker) starts with an empty buffer and no thread:
# the parent's requests are the parent's to write.
os.register_at_fork(after_in_child=_writer._reset)


def recording_writer() -> RecordingWriter:
    """Return the process's writer."""
    return _writer
