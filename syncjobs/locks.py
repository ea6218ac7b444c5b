"""The per-user, per-provider lease that keeps two runs from overlapping."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db.models import Q
from django.utils import timezone

from syncjobs.models import SyncLock

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 3600


class SyncLocked(Exception):
    """Another run of the same provider for the same user holds the lock."""

    def __init__(self, *, platform: str, locked_until: dt.datetime | None):
        self.platform = platform
        self.locked_until = locked_until
        until = f" until {locked_until.isoformat()}" if locked_until else ""
        super().__init__(f"another {platform} run holds the lock{until}")


def sync_lock_claim(
    *,
    owner,
    platform: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    holder: str | None = None,
    on_abandoned: Callable[[str], None] | None = None,
) -> str:
    """Claim the (owner, platform) lock and return the holder token.

    The claim is one conditional UPDATE whose WHERE clause only matches a
    free or expired lease, and the rowcount says who won: two workers
    racing here cannot both see 1 (a read-then-write check could let both
    pass). The ttl frees the lease of a worker that died mid-run.

    A ``holder`` named by the caller (the Celery task id) also matches a
    lease it holds already: that is the same task handed out again because
    its worker died mid-run, and without this it would be skipped until
    the dead run's lease expired (an hour). Two deliveries of one task can
    then run together (Redis hands a task out again while it still runs
    once it is older than the visibility timeout); the owner's write lock
    keeps their writes apart.

    ``on_abandoned(previous_holder)`` is called after a claim that took
    over a lease its holder never released (expired, or this holder's
    own): that holder's run died, or overran its lease.
    """
    now = timezone.now()
    lock, _ = SyncLock.objects.get_or_create(owner=owner, platform=platform)
    # Read before the claim, by the get_or_create above, so it costs no
    # statement. A holder that released between that read and the claim
    # looks abandoned too; its run then ends with its real outcome anyway
    # (see syncjobs.interrupted).
    previous_holder = lock.holder
    claimable = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    if holder:
        claimable |= Q(holder=holder)
    holder = holder or uuid.uuid4().hex
    claimed = (
        SyncLock.objects.filter(pk=lock.pk)
        .filter(claimable)
        .update(holder=holder, locked_until=now + dt.timedelta(seconds=ttl_seconds))
    )
    if claimed != 1:
        until = (
            SyncLock.objects.filter(pk=lock.pk)
            .values_list("locked_until", flat=True)
            .first()
        )
        raise SyncLocked(platform=platform, locked_until=until)
    if previous_holder and on_abandoned is not None:
        try:
            on_abandoned(previous_holder)
        except Exception:
            # Bookkeeping about the dead run must not cost this run its
            # lease (the caller only releases what it got back); the beat
            # sweep ends those runs later anyway.
            logger.exception(
                "handling an abandoned lease failed",
                extra={"platform": platform, "previous_holder": previous_holder},
            )
    return holder


def sync_lock_release(*, owner, platform: str, holder: str) -> None:
    """Free the lock if ``holder`` still holds it.

    Matching on the holder keeps a run whose lease expired (and was taken
    by another worker) from freeing the other worker's lease.
    """
    SyncLock.objects.filter(owner=owner, platform=platform, holder=holder).update(
        holder="", locked_until=None
    )


@contextmanager
def sync_lock(
    *,
    owner,
    platform: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    holder: str | None = None,
    on_abandoned: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """Hold the (owner, platform) lock for the block; raise SyncLocked if taken.

    Claim it outside any work transaction: a claim that is not committed is
    invisible to the other workers. ``holder`` and ``on_abandoned`` are as
    for ``sync_lock_claim``.
    """
    holder = sync_lock_claim(
        owner=owner,
        platform=platform,
        ttl_seconds=ttl_seconds,
        holder=holder,
        on_abandoned=on_abandoned,
    )
    try:
        yield holder
    finally:
        sync_lock_release(owner=owner, platform=platform, holder=holder)
