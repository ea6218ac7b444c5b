"""End the records of runs whose worker died: "started" for ever becomes failed.

A run killed hard (SIGKILL, Celery's hard time limit, power loss) never
reaches the UPDATE that ends its SyncRun. Two things find such runs:

- ``sync_runs_interrupt_left_behind``: a run that takes over a lock lease
  its holder never released (the lease expired, or the same task came back
  after its worker died) knows the earlier runs of that user and provider
  are dead, and ends them at once;
- ``sync_runs_interrupt_stale``, run by beat: a run still started after a
  whole lock lease cannot still be working (every sync task's hard time
  limit is shorter than the lease), whatever left it behind.

Both end the run as ``failed`` with ``details["interrupted"]`` and an
``error_message`` starting "interrupted:", so it counts as a failure in
the history stats and its clients need no new status. Both are one
conditional UPDATE that only touches runs still started: a run that was
only slow, not dead, ends later with one unconditional UPDATE of its own
(``syncjobs.instrumentation``), which replaces the mark with what it did.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from syncjobs.locks import DEFAULT_TTL_SECONDS
from syncjobs.models import STATUS_FAILED, STATUS_STARTED, SyncRun

logger = logging.getLogger(__name__)

INTERRUPTED_PREFIX = "interrupted: "


def _interrupt(runs, *, reason: str, now: dt.datetime) -> int:
    count = runs.filter(status=STATUS_STARTED).update(
        status=STATUS_FAILED,
        completed_at=now,
        error_message=INTERRUPTED_PREFIX + reason,
        # A started run's details are still the empty dict it was created
        # with: only the final UPDATE writes them.
        details={"interrupted": True, "reason": reason},
    )
    if count:
        logger.warning("interrupted runs", extra={"runs": count, "reason": reason})
    return count


def sync_runs_interrupt_left_behind(
    *, run: SyncRun, abandoned_holder: str, now: dt.datetime | None = None
) -> int:
    """End the runs of ``run``'s user and provider started before it; return how many.

    Call it once ``run`` has taken over a lease that ``abandoned_holder``
    never released: every earlier run still started is one that died
    holding the lock, or lost it and died.
    """
    earlier = SyncRun.objects.filter(
        owner_id=run.owner_id, platform=run.platform, started_at__lte=run.started_at
    ).exclude(pk=run.pk)
    reason = (
        f"the worker stopped before the run ended; run {run.pk} found the "
        f"lock lease of {abandoned_holder} left claimed"
    )
    return _interrupt(earlier, reason=reason, now=now or timezone.now())


def sync_runs_interrupt_stale(
    *, now: dt.datetime | None = None, lease_seconds: int = DEFAULT_TTL_SECONDS
) -> int:
    """End every run still started after ``lease_seconds``; return how many."""
    now = now or timezone.now()
    stale = SyncRun.objects.filter(
        started_at__lt=now - dt.timedelta(seconds=lease_seconds)
    )
    reason = f"still started after the {lease_seconds} s lock lease"
    return _interrupt(stale, reason=reason, now=now)
