"""Celery tasks: take ids, load rows, call the sync services, retry what is transient.

Per-user tasks sync every connected account of one provider for one user;
the ``*_all`` tasks fan out one per-user task per user with such an account;
``rescore_all_users`` is the nightly rescore. Queues are chosen by name in
``CELERY_TASK_ROUTES`` (one per provider), so the tasks never name one.

Retries: a transient ``ProviderError`` (a 429, a 5xx, a timeout) is retried
at most ``max_retries`` times with exponential backoff and full jitter, and
never sooner than the provider's ``retry_after``. Permanent errors (a revoked
grant, a missing scope) and ``SyncLocked`` are not retried: the service has
already recorded the failed or skipped run. When the last retry fails too,
the user gets one "<provider> sync failed" notification per provider per
day, and the task fails with the provider's error.

Missing: in-process (eager) runs with ``CELERY_TASK_EAGER_PROPAGATES`` do
not retry: Celery hands the ``Retry`` to the caller instead, and
``queue_on_commit`` logs it. Retries need a worker, or eager mode without
propagation (what the task tests use).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import transaction
from django.utils import timezone

from syncjobs.models import (
    PLATFORM_CHOICES,
    PROVIDER_GMAIL,
    PROVIDER_GOOGLE_CALENDAR,
    PROVIDER_GOOGLE_CONTACTS,
    PROVIDER_TWITTER,
    STATUS_FAILED,
    STATUS_SKIPPED,
    TRIGGER_MANUAL,
    TRIGGER_SCHEDULED,
    ProviderAccount,
)
from syncjobs.providers.base import ProviderError

logger = logging.getLogger(__name__)

# Which kind of connected account each provider syncs from.
PLATFORM_ACCOUNT_KIND = {
    PROVIDER_GMAIL: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CONTACTS: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CALENDAR: ProviderAccount.KIND_GOOGLE,
    PROVIDER_TWITTER: ProviderAccount.KIND_TWITTER,
}
PLATFORM_LABELS = dict(PLATFORM_CHOICES)

RETRY_BACKOFF_FACTOR = 60  # seconds; the original retried after a flat 60 s
RETRY_BACKOFF_MAX = 600
FAILURE_BODY_PREFIX = "Sync failed after multiple retries: "
FAILURE_ERROR_CHARS = 200


def retry_countdown(
    *,
    retries: int,
    retry_after: float | None = None,
    factor: int = RETRY_BACKOFF_FACTOR,
    maximum: int = RETRY_BACKOFF_MAX,
    jitter: bool = True,
) -> int:
    """Return the seconds to wait before retry number ``retries + 1``.

    Exponential backoff (``factor * 2**retries``, capped at ``maximum``),
    with Celery's full jitter when ``jitter`` is set, but never less than
    the ``retry_after`` the provider asked for, even past ``maximum``: a
    retry before then would only be refused again.
    """
    countdown = get_exponential_backoff_interval(
        factor=factor, retries=retries, maximum=maximum, full_jitter=jitter
    )
    if retry_after:
        countdown = max(countdown, math.ceil(retry_after))
    return countdown


class ProviderSyncTask(Task):
    """Base of the per-user sync tasks: the retry policy for provider errors.

    Celery's ``autoretry_for`` is not used: it cannot tell a permanent
    ProviderError from a transient one (one class, a flag) and it ignores
    the provider's ``retry_after``. ``retry_transient`` applies the same
    backoff settings by hand.
    """

    max_retries = 3
    retry_backoff = RETRY_BACKOFF_FACTOR
    retry_backoff_max = RETRY_BACKOFF_MAX
    retry_jitter = True
    platform = ""

    def retry_transient(self, *, exc: ProviderError, user_id: str, kwargs: dict):
        """Raise the Retry for ``exc``, or ``exc`` itself when retries are spent."""
        if self.request.retries >= self.max_retries:
            sync_failure_notify(user_id=user_id, platform=self.platform, exc=exc)
            raise exc
        countdown = retry_countdown(
            retries=self.request.retries,
            retry_after=exc.retry_after,
            factor=int(self.retry_backoff),
            maximum=self.retry_backoff_max,
            jitter=self.retry_jitter,
        )
        logger.warning(
            "retrying sync",
            extra={
                "task": self.name,
                "user_id": user_id,
                "retries": self.request.retries,
                "countdown": countdown,
                "error": str(exc),
            },
        )
        raise self.retry(exc=exc, countdown=countdown, args=(user_id,), kwargs=kwargs)


def sync_failure_notify(*, user_id: str, platform: str, exc: Exception) -> bool:
    """Tell the user a provider's sync failed after every retry; return if new.

    One notification per provider per UTC day: a provider that is down all
    day would otherwise add one for each of Gmail's four daily runs. The
    original never told the user about Gmail failures at all.
    """
    from contacts.models import Notification

    label = PLATFORM_LABELS.get(platform, platform)
    today = timezone.now().date().isoformat()
    _, created = Notification.objects.get_or_create(
        owner_id=user_id,
        dedup_key=f"sync-failed:{platform}:{today}",
        defaults={
            "notification_type": "sync",
            "title": f"{label} sync failed",
            "body": FAILURE_BODY_PREFIX + str(exc)[:FAILURE_ERROR_CHARS],
            "link": "/settings",
        },
    )
    return created


def queue_on_commit(task: Task, *args, **kwargs) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one).

    A worker must never be handed ids of rows it cannot see yet. ``robust``
    keeps a broker hiccup (or, in eager mode, a failing task) from turning
    the caller's committed work into an error; it is logged instead.
    """
    transaction.on_commit(
        lambda: task.apply_async(args=args, kwargs=kwargs), robust=True
    )


def _user_or_status(user_id) -> tuple[object | None, dict | None]:
    from contacts.models import User

    try:
        pk = uuid.UUID(str(user_id))
    except (TypeError, ValueError, AttributeError):
        return None, {"status": "invalid_user_id"}
    user = User.objects.filter(pk=pk).first()
    if user is None:
        return None, {"status": "user_not_found"}
    return user, None


def _sync_user(
    task: ProviderSyncTask,
    *,
    user_id,
    trigger: str,
    account_ids: Sequence[str] | None,
) -> dict:
    """Sync every connected account of ``task.platform`` of one user.

    1. Load the user and their connected accounts of the provider's kind
       (only ``account_ids`` when given: a manual run or a retry).
    2. Run ``sync_provider`` per account; a locked or permanently failed
       account does not stop the others.
    3. Retry only the accounts that failed transiently.
    """
    from syncjobs import services
    from syncjobs.locks import SyncLocked

    user, status = _user_or_status(user_id)
    if status is not None:
        return status
    platform = task.platform
    accounts = ProviderAccount.objects.filter(
        owner=user,
        kind=PLATFORM_ACCOUNT_KIND[platform],
        status=ProviderAccount.STATUS_CONNECTED,
    ).order_by("created_at")
    if account_ids:
        accounts = accounts.filter(pk__in=list(account_ids))

    result = {
        "status": "ok",
        "platform": platform,
        "accounts": 0,
        "succeeded": 0,
        "failed": 0,
        "skipped": 0,
        "records_created": 0,
        "records_updated": 0,
        "run_ids": [],
    }
    transient: list[tuple[str, ProviderError]] = []
    for account in accounts:
        result["accounts"] += 1
        try:
            run = services.sync_provider(
                account=account,
                platform=platform,
                trigger=trigger,
                # The task id: a redelivery of this task after its worker
                # died takes over the lock the dead run left claimed.
                lock_holder=task.request.id,
            )
        except SyncLocked:
            result["skipped"] += 1
            continue
        except ProviderError as exc:
            if exc.permanent:
                result["failed"] += 1
            else:
                transient.append((str(account.pk), exc))
            continue
        result["run_ids"].append(str(run.pk))
        result["records_created"] += run.records_created
        result["records_updated"] += run.records_updated
        if run.status == STATUS_FAILED:
            result["failed"] += 1
        elif run.status == STATUS_SKIPPED:
            result["skipped"] += 1
        else:
            result["succeeded"] += 1

    if result["accounts"] == 0:
        return {"status": "no_account", "platform": platform}
    if transient:
        task.retry_transient(
            exc=transient[0][1],
            user_id=str(user.pk),
            kwargs={"trigger": trigger, "account_ids": [pk for pk, _ in transient]},
        )
    return result


def _fan_out(task: Task, *, platform: str) -> dict:
    """Queue ``task`` once per active user with a connected account for ``platform``.

    Users who switched the provider's automatic sync off in their settings
    are left out; a manual run still works for them.
    """
    from contacts.models import User

    connected = ProviderAccount.objects.filter(
        kind=PLATFORM_ACCOUNT_KIND[platform], status=ProviderAccount.STATUS_CONNECTED
    ).values("owner_id")
    rows = (
        User.objects.filter(pk__in=connected, is_active=True)
        .order_by("pk")
        .values_list("pk", "sync_settings")
    )
    user_ids = [str(pk) for pk, settings in rows if _auto_sync_on(settings, platform)]
    for user_id in user_ids:
        queue_on_commit(task, user_id, trigger=TRIGGER_SCHEDULED)
    logger.info("queued syncs", extra={"platform": platform, "queued": len(user_ids)})
    return {"queued": len(user_ids)}


def _auto_sync_on(sync_settings, platform: str) -> bool:
    entry = sync_settings.get(platform) if isinstance(sync_settings, dict) else None
    if not isinstance(entry, dict):
        return True
    return entry.get("auto_sync", True) is not False


# --- per-user tasks --------------------------------------------------------


@shared_task(
    bind=True,
    base=ProviderSyncTask,
    name="syncjobs.tasks.sync_gmail_for_user",
    platform=PROVIDER_GMAIL,
    soft_time_limit=900,
    time_limit=1200,
)
def sync_gmail_for_user(self, user_id, trigger=TRIGGER_SCHEDULED, account_ids=None):
    """Sync the Gmail of every connected Google account of the user."""
    return _sync_user(self, user_id=user_id, trigger=trigger, account_ids=account_ids)


@shared_task(
    bind=True,
    base=ProviderSyncTask,
    name="syncjobs.tasks.sync_google_contacts_for_user",
    platform=PROVIDER_GOOGLE_CONTACTS,
)
def sync_google_contacts_for_user(
    self, user_id, trigger=TRIGGER_SCHEDULED, account_ids=None
):
    """Sync the Google Contacts of every connected Google account of the user."""
    return _sync_user(self, user_id=user_id, trigger=trigger, account_ids=account_ids)


@shared_task(
    bind=True,
    base=ProviderSyncTask,
    name="syncjobs.tasks.sync_google_calendar_for_user",
    platform=PROVIDER_GOOGLE_CALENDAR,
)
def sync_google_calendar_for_user(
    self, user_id, trigger=TRIGGER_SCHEDULED, account_ids=None
):
    """Sync the past meetings of every connected Google account of the user."""
    return _sync_user(self, user_id=user_id, trigger=trigger, account_ids=account_ids)


@shared_task(
    bind=True,
    base=ProviderSyncTask,
    name="syncjobs.tasks.sync_twitter_for_user",
    platform=PROVIDER_TWITTER,
    soft_time_limit=900,
    time_limit=1200,
)
def sync_twitter_for_user(self, user_id, trigger=TRIGGER_SCHEDULED, account_ids=None):
    """Sync the DMs, mentions and profile of every connected X account of the user."""
    return _sync_user(self, user_id=user_id, trigger=trigger, account_ids=account_ids)


PLATFORM_TASKS: dict[str, Task] = {
    PROVIDER_GMAIL: sync_gmail_for_user,
    PROVIDER_GOOGLE_CONTACTS: sync_google_contacts_for_user,
    PROVIDER_GOOGLE_CALENDAR: sync_google_calendar_for_user,
    PROVIDER_TWITTER: sync_twitter_for_user,
}


# --- fan-out and batch tasks ----------------------------------------------


@shared_task(name="syncjobs.tasks.sync_gmail_all")
def sync_gmail_all():
    """Queue a Gmail sync for every user with a connected Google account."""
    return _fan_out(sync_gmail_for_user, platform=PROVIDER_GMAIL)


@shared_task(name="syncjobs.tasks.sync_google_contacts_all")
def sync_google_contacts_all():
    """Queue a Google Contacts sync for every user with a connected Google account."""
    return _fan_out(sync_google_contacts_for_user, platform=PROVIDER_GOOGLE_CONTACTS)


@shared_task(name="syncjobs.tasks.sync_google_calendar_all")
def sync_google_calendar_all():
    """Queue a Google Calendar sync for every user with a connected Google account."""
    return _fan_out(sync_google_calendar_for_user, platform=PROVIDER_GOOGLE_CALENDAR)


@shared_task(name="syncjobs.tasks.sync_twitter_all")
def sync_twitter_all():
    """Queue an X sync for every user with a connected X account."""
    return _fan_out(sync_twitter_for_user, platform=PROVIDER_TWITTER)


@shared_task(name="syncjobs.tasks.rescore_all_users")
def rescore_all_users():
    """Bring every user's scores up to now, one recorded run per user.

    Per user only the contacts the day can have changed are rescored (all
    of them on a user's first run): ``syncjobs.services.rescore_all``.
    """
    from syncjobs import services

    runs = services.rescore_all(trigger=TRIGGER_SCHEDULED)
    return {
        "status": "ok",
        "runs": len(runs),
        "contacts_rescored": sum(run.contacts_rescored for run in runs),
    }


@shared_task(name="syncjobs.tasks.interrupt_stale_sync_runs")
def interrupt_stale_sync_runs():
    """End the runs still started after a whole lock lease: their worker died."""
    from syncjobs.interrupted import sync_runs_interrupt_stale

    return {"status": "ok", "interrupted": sync_runs_interrupt_stale()}


def account_sync_queue(
    *, account: ProviderAccount, trigger: str = TRIGGER_MANUAL
) -> list[str]:
    """Queue a sync of every provider ``account`` feeds; return the task names.

    A Google account feeds Gmail, Contacts and Calendar; an X account feeds
    X. Only this account is synced, not the user's other ones.
    """
    names = []
    for platform, kind in PLATFORM_ACCOUNT_KIND.items():
        if kind != account.kind:
            continue
        task = PLATFORM_TASKS[platform]
        queue_on_commit(
            task, str(account.owner_id), trigger=trigger, account_ids=[str(account.pk)]
        )
        names.append(task.name)
    return names
