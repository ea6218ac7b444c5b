"""Start jobs in real threads at one moment and make them meet mid-transaction.

Each job runs in its own thread, so Django gives it its own database
connection (closed when the job ends). ``Race`` lines the threads up on a
barrier; a ``Meeting`` placed inside the work (after a lookup, before the
writes) holds each job until every other job has got there too, so two
transactions are certain to have read before either writes. A job that
cannot get there because it waits for a lock the first one holds is seen
in ``pg_locks``, and the first one goes on alone: that is what a working
lock looks like.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest
from django.conf import settings
from django.db import connection

JOIN_SECONDS = 60
MEET_SECONDS = 15


def on_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


postgres_only = pytest.mark.skipif(
    not on_postgres(),
    reason=(
        "needs PostgreSQL (DATABASE_URL=postgres://...): the SQLite test database "
        "lives in one in-memory connection, so threads cannot race on it"
    ),
)


@dataclass
class Outcome:
    """What one job returned or raised."""

    value: object = None
    error: BaseException | None = None

    def get(self):
        if self.error is not None:
            raise self.error
        return self.value


class Race:
    """Run jobs in threads started together; ``run`` returns their outcomes."""

    def __init__(self, *jobs: Callable[[], object]) -> None:
        self.jobs = jobs
        self.outcomes = [Outcome() for _ in jobs]
        self.backend_pids: dict[int, int] = {}
        self.ended: set[int] = set()
        self.threads: list[threading.Thread] = []
        self._barrier = threading.Barrier(len(jobs))

    def index_of_current(self) -> int | None:
        current = threading.current_thread()
        for index, thread in enumerate(self.threads):
            if thread is current:
                return index
        return None

    def _work(self, index: int) -> None:
        outcome = self.outcomes[index]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pids[index] = cursor.fetchone()[0]
            self._barrier.wait(timeout=JOIN_SECONDS)
            outcome.value = self.jobs[index]()
        except BaseException as exc:  # handed back to the test by Outcome.get
            outcome.error = exc
        finally:
            self.ended.add(index)
            connection.close()

    def run(self) -> list[Outcome]:
        self.threads = [
            threading.Thread(target=self._work, args=(i,), name=f"race-{i}")
            for i in range(len(self.jobs))
        ]
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join(timeout=JOIN_SECONDS)
        assert not any(t.is_alive() for t in self.threads), "a racing job hung"
        return self.outcomes


class Meeting:
    """A point in the work where every job of ``race`` waits for the others.

    Each job stops here once (its first pass). It goes on when all jobs
    have arrived, when another job is waiting for a database lock (it will
    not arrive while this one holds the lock), when another job has ended,
    or after MEET_SECONDS. ``results`` keeps why each arrival went on.
    """

    def __init__(self, race: Race) -> None:
        self.race = race
        self.arrived: set[int] = set()
        self.results: list[str] = []
        self._guard = threading.Lock()

    def __call__(self) -> None:
        index = self.race.index_of_current()
        with self._guard:
            if index is None or index in self.arrived:
                return
            self.arrived.add(index)
        others = [i for i in range(len(self.race.jobs)) if i != index]
        deadline = time.monotonic() + MEET_SECONDS
        while True:
            with self._guard:
                everyone = self.arrived.issuperset(others)
            if everyone:
                reason = "met"
            elif self.race.ended.intersection(others):
                reason = "another job ended"
            elif self._waiting_for_a_lock(others):
                reason = "another job waits for a lock"
            elif time.monotonic() > deadline:
                reason = "timed out"
            else:
                time.sleep(0.02)
                continue
            with self._guard:
                self.results.append(reason)
            return

    def _waiting_for_a_lock(self, others: list[int]) -> bool:
        pids = [
            self.race.backend_pids[i] for i in others if i in self.race.backend_pids
        ]
        if not pids:
            return False
        # pg_locks is read live (pg_stat_activity would be a snapshot taken
        # once per transaction).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)",
                [pids],
            )
            return cursor.fetchone()[0] > 0


def meet_after(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, meeting: Meeting
) -> None:
    """Make ``module.name`` stop at ``meeting`` after it returns (in racing jobs)."""
    real = getattr(module, name)

    def then_meet(*args, **kwargs):
        result = real(*args, **kwargs)
        meeting()
        return result

    monkeypatch.setattr(module, name, then_meet)
