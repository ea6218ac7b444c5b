"""instrumented_run: the SyncRun row, its counters, query count and log line."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from contacts.models import Contact
from syncjobs.instrumentation import PROBLEMS_KEPT, instrumented_run
from syncjobs.models import SyncRun
from syncjobs.records import RecordProblem

LOG_KEYS = {
    "run_id",
    "owner_id",
    "platform",
    "trigger",
    "status",
    "duration_ms",
    "fetched",
    "records_created",
    "updated",
    "skipped",
    "failed",
    "rescored",
    "queries",
}


STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


def finished_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "sync run finished"]


def test_it_stores_a_started_run_before_the_work_begins(alice):
    with instrumented_run(owner=alice, platform="gmail", trigger="manual") as recorder:
        stored = SyncRun.objects.get(pk=recorder.run.pk)
        assert (stored.status, stored.platform, stored.sync_type) == (
            "started",
            "gmail",
            "manual",
        )
        assert stored.completed_at is None

    stored.refresh_from_db()
    assert stored.status == "success"
    assert stored.completed_at is not None


def test_it_writes_the_counters_duration_and_query_count_at_the_end(alice):
    with instrumented_run(owner=alice, platform="import", trigger="import") as recorder:
        list(Contact.objects.all())
        list(Contact.objects.all())
        recorder.fetched, recorder.created, recorder.updated = 7, 3, 2
        recorder.skipped, recorder.rescored = 2, 3
        recorder.details["format"] = "vcard"

    run = SyncRun.objects.get(pk=recorder.run.pk)
    assert (
        run.status,
        run.records_fetched,
        run.records_created,
        run.records_updated,
        run.records_skipped,
        run.records_failed,
        run.contacts_rescored,
    ) == ("success", 7, 3, 2, 2, 0, 3)
    # The INSERT of the started run and the two SELECTs; the final UPDATE
    # cannot count itself.
    assert run.query_count == 3
    assert run.duration_ms is not None
    assert run.error_message is None
    assert run.details == {"format": "vcard"}


def test_a_failed_item_makes_the_run_partial_and_is_listed_with_its_position(alice):
    with instrumented_run(owner=alice, platform="import", trigger="import") as recorder:
        recorder.fetched = 3
        recorder.fail_item(RecordProblem("card #2 (line 9)", "the card has no name"))
        recorder.warn(
            RecordProblem("card #3 (line 14)", "BDAY 'circa 1800' kept as text")
        )

    run = SyncRun.objects.get(pk=recorder.run.pk)
    assert (run.status, run.records_failed) == ("partial", 1)
    assert run.details["problems"] == [
        {
            "position": "card #2 (line 9)",
            "reason": "the card has no name",
            "kind": "error",
        },
        {
            "position": "card #3 (line 14)",
            "reason": "BDAY 'circa 1800' kept as text",
            "kind": "warning",
        },
    ]


def test_a_warning_alone_leaves_the_run_successful(alice):
    with instrumented_run(owner=alice, platform="import", trigger="import") as recorder:
        recorder.warn(RecordProblem("line 3", "odd but kept"))

    assert SyncRun.objects.get(pk=recorder.run.pk).status == "success"


def test_it_keeps_only_the_first_200_problems_but_counts_them_all(alice):
    with instrumented_run(owner=alice, platform="import", trigger="import") as recorder:
        for number in range(1, 251):
            recorder.fail_item(RecordProblem(f"line {number}", "unreadable date"))

    run = SyncRun.objects.get(pk=recorder.run.pk)
    assert run.records_failed == 250
    assert len(run.details["problems"]) == PROBLEMS_KEPT == 200
    assert run.details["problems"][-1]["position"] == "line 200"


def test_a_recorder_told_partial_ends_partial_with_the_reason(alice):
    with instrumented_run(owner=alice, platform="twitter", trigger="scheduled") as rec:
        rec.mark_partial("will retry: 429 Too Many Requests")

    run = SyncRun.objects.get(pk=rec.run.pk)
    assert (run.status, run.error_message) == (
        "partial",
        "will retry: 429 Too Many Requests",
    )


def test_an_exception_ends_the_run_failed_and_is_raised_again(alice):
    with (
        pytest.raises(RuntimeError, match="disk full"),
        instrumented_run(owner=alice, platform="gmail", trigger="scheduled") as rec,
    ):
        rec.fetched = 12
        raise RuntimeError("disk full")

    run = SyncRun.objects.get(pk=rec.run.pk)
    assert (run.status, run.records_fetched, run.error_message) == (
        "failed",
        12,
        "RuntimeError: disk full",
    )
    assert run.completed_at is not None


def test_the_error_message_keeps_the_first_2000_characters(alice):
    with (
        pytest.raises(ValueError),
        instrumented_run(owner=alice, platform="gmail", trigger="scheduled") as rec,
    ):
        raise ValueError("x" * 5000)

    message = SyncRun.objects.get(pk=rec.run.pk).error_message
    assert message == ("ValueError: " + "x" * 5000)[:2000]
    assert len(message) == 2000


def test_the_run_record_survives_the_rollback_of_the_work_transaction(alice):
    with (
        pytest.raises(RuntimeError),
        instrumented_run(owner=alice, platform="import", trigger="import") as rec,
        transaction.atomic(),
    ):
        Contact.objects.create(owner=alice, full_name="Half Written")
        rec.created = 1
        raise RuntimeError("second batch failed")

    assert not Contact.objects.filter(full_name="Half Written").exists()
    run = SyncRun.objects.get(pk=rec.run.pk)
    assert (run.status, run.error_message) == (
        "failed",
        "RuntimeError: second batch failed",
    )


def test_every_run_logs_one_line_with_the_same_keys(alice, caplog):
    caplog.set_level(logging.INFO, logger="syncjobs.instrumentation")

    with instrumented_run(owner=alice, platform="gmail", trigger="manual") as ok:
        ok.fetched = 4
    with (
        pytest.raises(RuntimeError),
        instrumented_run(owner=alice, platform="gmail", trigger="manual"),
    ):
        raise RuntimeError("boom")

    lines = finished_lines(caplog)
    assert len(lines) == 2
    for line in lines:
        assert set(line.__dict__) - STANDARD_ATTRS == LOG_KEYS
    success, failure = lines
    assert (success.run_id, success.status, success.fetched) == (
        str(ok.run.pk),
        "success",
        4,
    )
    assert (failure.status, failure.platform, failure.owner_id) == (
        "failed",
        "gmail",
        str(alice.pk),
    )
