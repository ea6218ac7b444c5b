"""Every beat schedule, in one place, and the writer that stores them for beat.

Beat runs with django-celery-beat's DatabaseScheduler, so the schedules
live in the database where support staff can change them in the admin
(Periodic tasks). ``schedules_apply`` (the ``setup_schedules`` command) puts
the rows below there; running it again changes nothing. All times are UTC.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Schedule:
    """One periodic task: its name, its task, its crontab and when it fires."""

    name: str
    task: str
    note: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"

    @property
    def cron(self) -> str:
        return " ".join(
            (
                self.minute,
                self.hour,
                self.day_of_month,
                self.month_of_year,
                self.day_of_week,
            )
        )


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        name="sync-gmail-all-every-6h",
        task="syncjobs.tasks.sync_gmail_all",
        minute="0",
        hour="0,6,12,18",
        note=(
            "Every 6 hours, on the hour at 00:00, 06:00, 12:00 and 18:00 UTC: "
            "queue one Gmail sync per user with a connected Google account."
        ),
    ),
    Schedule(
        name="update-relationship-scores-daily",
        task="syncjobs.tasks.rescore_all_users",
        minute="0",
        hour="2",
        note=(
            "Every day at 02:00 UTC: bring every user's scores up to date, so "
            "scores age even for people nobody synced that day (only the "
            "contacts an interaction's age moved across a boundary since the "
            "previous night are rescored)."
        ),
    ),
    Schedule(
        name="poll-twitter-all-daily",
        task="syncjobs.tasks.sync_twitter_all",
        minute="0",
        hour="4",
        note=(
            "Every day at 04:00 UTC: queue one X sync (DMs, mentions, "
            "profiles) per user with a connected X account."
        ),
    ),
    Schedule(
        name="sync-google-contacts-all-daily",
        task="syncjobs.tasks.sync_google_contacts_all",
        minute="0",
        hour="5",
        note=(
            "Every day at 05:00 UTC: queue one Google Contacts sync per user "
            "with a connected Google account. (The original only synced "
            "contacts when the user pressed the button.)"
        ),
    ),
    Schedule(
        name="sync-google-calendar-all-daily",
        task="syncjobs.tasks.sync_google_calendar_all",
        minute="0",
        hour="6",
        note=(
            "Every day at 06:00 UTC: queue one Google Calendar sync (past "
            "meetings) per user with a connected Google account."
        ),
    ),
    # Added by the reliability work (stale runs), apart from the others.
    Schedule(
        name="interrupt-stale-sync-runs-every-15-min",
        task="syncjobs.tasks.interrupt_stale_sync_runs",
        minute="*/15",
        note=(
            "Every 15 minutes (UTC): end as failed, interrupted, the runs "
            "still started after a whole lock lease (an hour): their worker died."
        ),
    ),
)


def _crontab_for(schedule: Schedule):
    from django_celery_beat.models import CrontabSchedule

    fields = {
        "minute": schedule.minute,
        "hour": schedule.hour,
        "day_of_week": schedule.day_of_week,
        "day_of_month": schedule.day_of_month,
        "month_of_year": schedule.month_of_year,
        "timezone": zoneinfo.ZoneInfo("UTC"),
    }
    # Not get_or_create: the admin lets staff save the same crontab twice,
    # and get() would then fail on the duplicate.
    crontab = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(**fields)
    return crontab


def schedule_apply(schedule: Schedule) -> str:
    """Create or update the PeriodicTask row of ``schedule``; say which it was.

    A row already as wanted is not saved again: every save bumps the
    timestamp beat watches and makes it reload its whole schedule. The
    ``enabled`` flag of an existing row is left alone, so a schedule staff
    switched off stays off.
    """
    from django_celery_beat.models import PeriodicTask

    crontab = _crontab_for(schedule)
    wanted = {
        "task": schedule.task,
        "crontab_id": crontab.pk,
        "interval_id": None,
        "solar_id": None,
        "clocked_id": None,
        "one_off": False,
        "args": "[]",
        "kwargs": "{}",
        "description": schedule.note,
    }
    row = PeriodicTask.objects.filter(name=schedule.name).first()
    if row is None:
        PeriodicTask.objects.create(name=schedule.name, enabled=True, **wanted)
        return CREATED

    changed = [field for field, value in wanted.items() if getattr(row, field) != value]
    if not changed:
        return UNCHANGED
    for field in changed:
        setattr(row, field, wanted[field])
    row.save()
    logger.info(
        "updated periodic task", extra={"schedule": schedule.name, "fields": changed}
    )
    return UPDATED


def schedules_apply(*, schedules: tuple[Schedule, ...] = SCHEDULES) -> dict[str, str]:
    """Store every schedule for beat; return ``{name: created|updated|unchanged}``."""
    with transaction.atomic():
        return {schedule.name: schedule_apply(schedule) for schedule in schedules}
