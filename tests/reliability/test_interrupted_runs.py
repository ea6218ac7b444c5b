"""A run whose worker died does not stay "started" for ever: it ends as interrupted.

The dead run is set up as a SIGKILL leaves it: its SyncRun inserted with
status started and nothing else, and (when it died holding it) its sync
lock still claimed. It ends as failed, with ``details["interrupted"]``,
either when a later run takes over the lease it never released, or when
the beat task finds it still started after a whole lease. The real worker
being killed is in test_worker_killed.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from syncjobs import services
from syncjobs.instrumentation import instrumented_run
from syncjobs.interrupted import sync_runs_interrupt_stale
from syncjobs.locks import DEFAULT_TTL_SECONDS, sync_lock_claim
from syncjobs.models import ProviderAccount, SyncLock, SyncRun
from syncjobs.tasks import interrupt_stale_sync_runs, sync_google_contacts_for_user
from tests.accounts.clients import web_client

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=DEFAULT_TTL_SECONDS)
PLATFORM = "google_contacts"


@pytest.fixture(autouse=True)
def ten_people(monkeypatch):
    monkeypatch.setitem(
        services.PROVIDER_CLASSES, PLATFORM, "tests.reliability.providers.TenPeople"
    )


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice.work@example.com"
    )


def dead_run(owner, *, started_at, platform: str = PLATFORM) -> SyncRun:
    """Return a run as its killed worker left it: inserted, never ended."""
    return SyncRun.objects.create(
        owner=owner, platform=platform, sync_type="manual", started_at=started_at
    )


def state(run: SyncRun) -> tuple:
    run.refresh_from_db()
    return (
        run.status,
        run.error_message,
        run.details,
        run.completed_at is not None,
        run.duration_ms,
    )


def interrupted(reason: str) -> tuple:
    return (
        "failed",
        f"interrupted: {reason}",
        {"interrupted": True, "reason": reason},
        True,
        None,
    )


STILL_STARTED = ("started", None, {}, False, None)


def sync_as(user, task_id: str) -> dict:
    return sync_google_contacts_for_user.apply(
        args=[str(user.pk)], task_id=task_id
    ).get()


def newest_run(owner) -> SyncRun:
    return SyncRun.objects.filter(owner=owner).order_by("-started_at").first()


# --- found by the run that takes the lease over ------------------------------------


def test_the_same_task_delivered_again_ends_the_run_its_killed_delivery_left(
    alice, bob, google
):
    dead = dead_run(alice, started_at=timezone.now() - dt.timedelta(minutes=2))
    sync_lock_claim(owner=alice, platform=PLATFORM, holder="task-1")
    # Runs the lease says nothing about: another provider, another user.
    other_provider = dead_run(alice, started_at=dead.started_at, platform="gmail")
    other_user = dead_run(bob, started_at=dead.started_at)

    result = sync_as(alice, "task-1")

    rerun = newest_run(alice)
    assert (result["succeeded"], result["records_created"]) == (1, 10)
    assert state(dead) == interrupted(
        f"the worker stopped before the run ended; run {rerun.pk} found the "
        "lock lease of task-1 left claimed"
    )
    assert (rerun.status, rerun.records_created) == ("success", 10)
    assert state(other_provider) == STILL_STARTED
    assert state(other_user) == STILL_STARTED
    lock = SyncLock.objects.get(owner=alice, platform=PLATFORM)
    assert (lock.holder, lock.locked_until) == ("", None)


def test_a_task_that_takes_an_expired_lease_ends_the_dead_holders_run(alice, google):
    dead = dead_run(alice, started_at=timezone.now() - LEASE - dt.timedelta(minutes=1))
    sync_lock_claim(owner=alice, platform=PLATFORM, holder="task-1")
    SyncLock.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))

    result = sync_as(alice, "task-2")

    assert result["succeeded"] == 1
    assert state(dead) == interrupted(
        f"the worker stopped before the run ended; run {newest_run(alice).pk} "
        "found the lock lease of task-1 left claimed"
    )


def test_a_lease_another_task_still_holds_leaves_its_run_started(alice, google):
    dead = dead_run(alice, started_at=timezone.now() - dt.timedelta(minutes=2))
    sync_lock_claim(owner=alice, platform=PLATFORM, holder="task-1")

    result = sync_as(alice, "task-2")

    # The lease may belong to a run that is still working: only its expiry
    # (or the beat task) says the run is dead.
    assert (result["succeeded"], result["skipped"]) == (0, 1)
    assert newest_run(alice).status == "skipped"
    assert state(dead) == STILL_STARTED


def test_a_released_lock_costs_no_extra_statement(alice, google):
    # Killed before it claimed the lock: nothing on the lock says so.
    before_claiming = dead_run(alice, started_at=timezone.now() - dt.timedelta(days=1))
    sync_as(alice, "task-1")

    with CaptureQueriesContext(connection) as clean:
        sync_as(alice, "task-2")
    assert state(before_claiming) == STILL_STARTED
    sync_lock_claim(owner=alice, platform=PLATFORM, holder="task-3")
    with CaptureQueriesContext(connection) as taken_over:
        sync_as(alice, "task-3")

    def run_updates(queries) -> int:
        return sum(
            q["sql"].startswith('UPDATE "syncjobs_syncrun"')
            for q in queries.captured_queries
        )

    # The run's own final UPDATE; a taken-over lease adds the one that
    # ends the runs left behind, and nothing else.
    assert (run_updates(clean), run_updates(taken_over)) == (1, 2)
    assert len(taken_over.captured_queries) == len(clean.captured_queries) + 1
    assert state(before_claiming)[0] == "failed"


# --- found by the beat task --------------------------------------------------------


def test_the_beat_task_ends_every_run_still_started_after_a_whole_lease(alice, bob):
    with time_machine.travel(NOW, tick=False):
        stale = dead_run(alice, started_at=NOW - LEASE - dt.timedelta(seconds=1))
        stale_import = dead_run(
            bob, started_at=NOW - dt.timedelta(days=3), platform="import"
        )
        recent = dead_run(bob, started_at=NOW - LEASE + dt.timedelta(seconds=1))
        finished = SyncRun.objects.create(
            owner=alice,
            platform=PLATFORM,
            sync_type="scheduled",
            status="success",
            started_at=NOW - dt.timedelta(days=1),
            completed_at=NOW - dt.timedelta(days=1),
            duration_ms=1200,
        )

        result = interrupt_stale_sync_runs.apply().get()

    assert result == {"status": "ok", "interrupted": 2}
    reason = "still started after the 3600 s lock lease"
    assert state(stale) == interrupted(reason)
    assert state(stale_import) == interrupted(reason)
    assert stale.completed_at == NOW
    assert state(recent) == STILL_STARTED
    assert state(finished) == ("success", None, {}, True, 1200)


def test_a_slow_run_marked_interrupted_ends_with_what_it_really_did(alice):
    with instrumented_run(owner=alice, platform=PLATFORM, trigger="manual") as rec:
        later = timezone.now() + LEASE + dt.timedelta(minutes=1)
        assert sync_runs_interrupt_stale(now=later) == 1
        assert SyncRun.objects.get(pk=rec.run.pk).status == "failed"
        rec.created = 3

    run = SyncRun.objects.get(pk=rec.run.pk)
    assert (run.status, run.error_message, run.details, run.records_created) == (
        "success",
        None,
        {},
        3,
    )


# --- shown like any other run ------------------------------------------------------


def test_the_history_api_shows_an_interrupted_run_as_failed_with_its_reason(alice):
    with time_machine.travel(NOW, tick=False):
        run = dead_run(alice, started_at=NOW - LEASE - dt.timedelta(minutes=5))
        sync_runs_interrupt_stale()
    client = web_client(alice)

    listed = client.get("/api/v1/sync-history", {"status": "failed"}).json()
    stats = client.get("/api/v1/sync-history/stats").json()["data"]

    (item,) = listed["data"]
    assert (item["id"], item["status"], item["completed_at"]) == (
        str(run.pk),
        "failed",
        "2026-03-10T12:00:00Z",
    )
    assert item["error_message"] == (
        "interrupted: still started after the 3600 s lock lease"
    )
    assert json.loads(item["details"]) == {
        "interrupted": True,
        "reason": "still started after the 3600 s lock lease",
    }
    assert (stats[PLATFORM]["failed_count"], stats[PLATFORM]["success_count"]) == (1, 0)


def test_the_admin_run_page_shows_why_it_was_interrupted(admin_client, alice):
    run = dead_run(alice, started_at=timezone.now() - LEASE - dt.timedelta(minutes=5))
    sync_runs_interrupt_stale()

    page = admin_client.get(f"/admin/syncjobs/syncrun/{run.pk}/change/")
    listing = admin_client.get("/admin/syncjobs/syncrun/", {"status__exact": "failed"})

    assert page.status_code == 200
    assert "interrupted: still started after the 3600 s lock lease" in page.text
    assert str(run.pk) in listing.text
