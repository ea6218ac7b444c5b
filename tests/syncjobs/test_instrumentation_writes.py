"""instrumented_run's two writes send what the ORM's create and update send."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from syncjobs.instrumentation import FINISHED_FIELDS, _insert, _update
from syncjobs.models import SyncRun

STARTED = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


def _run(alice, **fields) -> SyncRun:
    return SyncRun(
        owner=alice,
        platform="linkedin",
        sync_type="webhook",
        status="started",
        started_at=STARTED,
        **fields,
    )


def _sent(write) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        write()
    return [query["sql"] for query in captured.captured_queries]


def test_the_insert_is_the_statement_save_sends(alice):
    ours, orms = _run(alice), _run(alice)
    orms.pk = ours.pk

    sent = _sent(lambda: _insert(ours))
    SyncRun.objects.filter(pk=ours.pk).delete()
    expected = _sent(lambda: orms.save(force_insert=True))

    assert sent == expected
    stored = SyncRun.objects.get(pk=ours.pk)
    assert (stored.status, stored.started_at, stored.details) == (
        "started",
        STARTED,
        {},
    )
    assert not ours._state.adding


def test_the_update_writes_every_finished_field(alice):
    run = _run(alice)
    _insert(run)
    run.status = "partial"
    run.completed_at = STARTED + dt.timedelta(seconds=3)
    run.duration_ms = 3000
    run.records_fetched, run.records_created, run.records_updated = 6, 3, 1
    run.records_skipped, run.records_failed, run.contacts_rescored = 1, 1, 3
    run.query_count = 8
    run.error_message = "one bad item"
    run.details = {"profiles": 2, "problems": [{"position": "messages[3]"}]}

    _update(run, FINISHED_FIELDS)

    stored = SyncRun.objects.get(pk=run.pk)
    assert [getattr(stored, name) for name in FINISHED_FIELDS] == [
        "partial",
        STARTED + dt.timedelta(seconds=3),
        3000,
        6,
        3,
        1,
        1,
        1,
        3,
        8,
        "one bad item",
        {"profiles": 2, "problems": [{"position": "messages[3]"}]},
    ]
