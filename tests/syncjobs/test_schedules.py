"""The beat schedules and the command that stores them for django-celery-beat."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from crm.celery import app as celery_app
from syncjobs.schedules import SCHEDULES, schedules_apply

EXPECTED = {
    "sync-gmail-all-every-6h": ("syncjobs.tasks.sync_gmail_all", "0", "0,6,12,18"),
    "update-relationship-scores-daily": ("syncjobs.tasks.rescore_all_users", "0", "2"),
    "poll-twitter-all-daily": ("syncjobs.tasks.sync_twitter_all", "0", "4"),
    "sync-google-contacts-all-daily": (
        "syncjobs.tasks.sync_google_contacts_all",
        "0",
        "5",
    ),
    "sync-google-calendar-all-daily": (
        "syncjobs.tasks.sync_google_calendar_all",
        "0",
        "6",
    ),
    "interrupt-stale-sync-runs-every-15-min": (
        "syncjobs.tasks.interrupt_stale_sync_runs",
        "*/15",
        "*",
    ),
}


def stored() -> dict[str, tuple]:
    return {
        row.name: (row.task, row.crontab.minute, row.crontab.hour)
        for row in PeriodicTask.objects.select_related("crontab")
    }


def test_every_schedule_runs_a_registered_task_and_says_when_in_words():
    # What a worker and beat do at start: import every app's tasks module.
    celery_app.loader.import_default_modules()

    for schedule in SCHEDULES:
        assert schedule.task in celery_app.tasks, schedule.task
        assert "UTC" in schedule.note, schedule.name


@pytest.mark.django_db
def test_it_stores_the_six_schedules_with_their_utc_crontabs():
    outcomes = schedules_apply()

    assert outcomes == dict.fromkeys(EXPECTED, "created")
    assert stored() == EXPECTED
    rows = PeriodicTask.objects.select_related("crontab")
    assert {str(row.crontab.timezone) for row in rows} == {"UTC"}
    assert {
        (r.crontab.day_of_week, r.crontab.day_of_month, r.crontab.month_of_year)
        for r in rows
    } == {("*", "*", "*")}
    assert all(row.enabled and row.description for row in rows)


@pytest.mark.django_db
def test_the_gmail_schedule_fires_on_the_hour_every_six_hours():
    schedules_apply()
    crontab = PeriodicTask.objects.get(name="sync-gmail-all-every-6h").crontab.schedule

    assert (crontab.minute, crontab.hour) == ({0}, {0, 6, 12, 18})
    assert crontab.day_of_week == set(range(7))


@pytest.mark.django_db
def test_running_it_twice_changes_nothing():
    schedules_apply()
    crontabs = list(CrontabSchedule.objects.order_by("pk").values())
    tasks = list(PeriodicTask.objects.order_by("pk").values())
    beat_mark = PeriodicTasks.last_change()

    outcomes = schedules_apply()

    assert outcomes == dict.fromkeys(EXPECTED, "unchanged")
    assert list(CrontabSchedule.objects.order_by("pk").values()) == crontabs
    assert list(PeriodicTask.objects.order_by("pk").values()) == tasks
    assert PeriodicTasks.last_change() == beat_mark


@pytest.mark.django_db
def test_it_puts_back_an_edited_time_but_keeps_a_switched_off_schedule_off():
    schedules_apply()
    other = CrontabSchedule.objects.create(minute="30", hour="7")
    row = PeriodicTask.objects.get(name="poll-twitter-all-daily")
    row.crontab = other
    row.enabled = False
    row.save()

    outcomes = schedules_apply()

    assert outcomes["poll-twitter-all-daily"] == "updated"
    assert [v for k, v in outcomes.items() if k != "poll-twitter-all-daily"] == [
        "unchanged"
    ] * 5
    row.refresh_from_db()
    assert (row.crontab.minute, row.crontab.hour, row.enabled) == ("0", "4", False)


@pytest.mark.django_db
def test_it_reuses_a_crontab_that_staff_saved_twice():
    CrontabSchedule.objects.create(minute="0", hour="2", timezone="UTC")
    CrontabSchedule.objects.create(minute="0", hour="2", timezone="UTC")

    schedules_apply()

    assert CrontabSchedule.objects.filter(minute="0", hour="2").count() == 2
    assert stored()["update-relationship-scores-daily"][2] == "2"


@pytest.mark.django_db
def test_the_command_prints_one_line_per_schedule_and_a_summary():
    first, second = io.StringIO(), io.StringIO()

    call_command("setup_schedules", stdout=first)
    call_command("setup_schedules", stdout=second)

    assert first.getvalue().splitlines() == [
        "created   sync-gmail-all-every-6h [0 0,6,12,18 * * * UTC] "
        "syncjobs.tasks.sync_gmail_all",
        "created   update-relationship-scores-daily [0 2 * * * UTC] "
        "syncjobs.tasks.rescore_all_users",
        "created   poll-twitter-all-daily [0 4 * * * UTC] syncjobs.tasks.sync_twitter_all",
        "created   sync-google-contacts-all-daily [0 5 * * * UTC] "
        "syncjobs.tasks.sync_google_contacts_all",
        "created   sync-google-calendar-all-daily [0 6 * * * UTC] "
        "syncjobs.tasks.sync_google_calendar_all",
        "created   interrupt-stale-sync-runs-every-15-min [*/15 * * * * UTC] "
        "syncjobs.tasks.interrupt_stale_sync_runs",
        "6 schedules, 6 changed",
    ]
    assert second.getvalue().splitlines()[-1] == "6 schedules, 0 changed"


@pytest.mark.django_db
def test_the_stored_rescore_schedule_is_next_due_at_two_in_the_morning_utc():
    schedules_apply()
    crontab = PeriodicTask.objects.get(
        name="update-relationship-scores-daily"
    ).crontab.schedule
    last_run = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)

    start, delta, _now = crontab.remaining_delta(last_run)

    assert start + delta == dt.datetime(2026, 3, 11, 2, 0, tzinfo=dt.UTC)
