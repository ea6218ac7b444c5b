"""Run syncs, imports and rescores: lock, fetch, upsert, rescore, record.

Every provider sync and every file import ends in the same write path:
contacts first, then interactions, then a batch rescore of the contacts
that received new interactions, all in one transaction, recorded as one
SyncRun by ``syncjobs.instrumentation``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from contacts.models import Contact, User
from contacts.scoring import (
    DEFAULT_BATCH_SIZE,
    RescoreResult,
    contacts_rescore,
    contacts_rescore_ids,
    nightly_rescore_start,
)
from contacts.services import (
    BULK_BATCH_SIZE,
    ContactUpsertResult,
    InteractionUpsertResult,
    contacts_upsert,
    interactions_upsert,
    owner_write_lock,
    suggestions_dismiss_for_new_activity,
)
from crm.querycount import count_queries
from syncjobs import importers
from syncjobs.accounts import account_credentials, account_mark_reauth_required
from syncjobs.emailaddr import normalise_email
from syncjobs.instrumentation import RunRecorder, instrumented_run
from syncjobs.interrupted import sync_runs_interrupt_left_behind
from syncjobs.locks import SyncLocked, sync_lock
from syncjobs.models import (
    PROVIDER_GMAIL,
    PROVIDER_GOOGLE_CALENDAR,
    PROVIDER_GOOGLE_CONTACTS,
    PROVIDER_IMPORT,
    PROVIDER_SCORING,
    PROVIDER_TWITTER,
    TRIGGER_IMPORT,
    TRIGGER_SCHEDULED,
    ProviderAccount,
    SyncRun,
)
from syncjobs.providers.base import Provider, ProviderError
from syncjobs.records import ContactRecord, ParseResult, Participant, RecordProblem

logger = logging.getLogger(__name__)

# Imported when first used, so one provider's client library missing or
# broken does not stop the others.
PROVIDER_CLASSES = {
    PROVIDER_GMAIL: "syncjobs.providers.gmail.GmailProvider",
    PROVIDER_GOOGLE_CONTACTS: "syncjobs.providers.google_people.GooglePeopleProvider",
    PROVIDER_GOOGLE_CALENDAR: (
        "syncjobs.providers.google_calendar.GoogleCalendarProvider"
    ),
    PROVIDER_TWITTER: "syncjobs.providers.twitter.TwitterProvider",
}
ACCOUNT_KINDS = {
    PROVIDER_GMAIL: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CONTACTS: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CALENDAR: ProviderAccount.KIND_GOOGLE,
    PROVIDER_TWITTER: ProviderAccount.KIND_TWITTER,
}
# Gmail only links mail to people already in the CRM (a mailbox is full of
# newsletters and one-off senders); the others describe real contacts.
CREATES_CONTACTS = {
    PROVIDER_GMAIL: False,
    PROVIDER_GOOGLE_CONTACTS: True,
    PROVIDER_GOOGLE_CALENDAR: True,
    PROVIDER_TWITTER: True,
}
FULL_RESYNC = "full_resync"
IMPORT_STEPS = ("read file", "contacts", "interactions", "rescore")

Progress = Callable[[str, int, int], None]


class ImportAborted(Exception):
    """Raised inside a dry run's transaction so that it rolls back."""


# --- the shared write path ---------------------------------------------------


@dataclass
class _Applied:
    contacts: ContactUpsertResult = field(default_factory=ContactUpsertResult)
    interactions: InteractionUpsertResult = field(
        default_factory=InteractionUpsertResult
    )
    rescore: RescoreResult = field(
        default_factory=lambda: RescoreResult(
            examined=0, changed=0, update_statements=0
        )
    )
    dismissed: int = 0
    known_keyless: int = 0


def _step(progress: Progress | None, done: int) -> None:
    """Report ``done`` of ``IMPORT_STEPS`` finished, naming the step that starts."""
    if progress is not None:
        starting = IMPORT_STEPS[done] if done < len(IMPORT_STEPS) else "done"
        progress(starting, done, len(IMPORT_STEPS))


def _apply_records(
    *,
    owner: User,
    result: ParseResult,
    now: dt.datetime,
    create_contacts: bool,
    progress: Progress | None = None,
) -> _Applied:
    """Write ``result``'s records for ``owner``; the caller holds the transaction.

    1. Upsert the contact records (when the source creates contacts), plus
       one for every interaction counterpart no record describes.
    2. Insert the interactions not stored yet.
    3. Rescore, in one batch, the contacts that received new interactions:
       nothing else about a contact changes its score.
    4. Dismiss their follow-ups that the new activity answers.

    The owner's write lock comes first: every read below must see what a
    concurrent sync, import or push of the same owner committed.
    """
    owner_write_lock(owner_id=owner.pk)
    applied = _Applied()
    if create_contacts:
        records = [*result.contacts, *_counterpart_records(result)]
        records, applied.known_keyless = _drop_known_keyless(owner, records)
        applied.contacts = contacts_upsert(owner=owner, records=records, now=now)
    _step(progress, 2)

    applied.interactions = interactions_upsert(
        owner=owner, records=result.interactions, now=now
    )
    _step(progress, 3)

    touched = applied.interactions.touched_contact_ids
    applied.rescore = contacts_rescore_ids(
        owner_id=owner.pk, contact_ids=touched, now=now
    )
    applied.dismissed = suggestions_dismiss_for_new_activity(
        owner=owner, contact_ids=touched, since=now
    )
    _step(progress, 4)
    return applied


def _counterpart_records(result: ParseResult) -> list[ContactRecord]:
    """Return a contact record for each participant no contact record names.

    An X archive names its counterparts only by id; without a record for
    them their messages would have no one to belong to.
    """
    described: set[tuple[str, str]] = set()
    for record in result.contacts:
        described.update(("email", normalise_email(e)) for e in record.emails)
        for kind in ("twitter_user_id", "linkedin_profile_id"):
            if getattr(record, kind):
                described.add((kind, getattr(record, kind)))

    extra: dict[tuple[str, str], ContactRecord] = {}
    for interaction in result.interactions:
        for p in interaction.participants:
            key = _participant_key(p)
            if key is None or key in described or key in extra:
                continue
            extra[key] = ContactRecord(
                source=interaction.platform,
                position=interaction.position,
                external_id=p.twitter_user_id or p.linkedin_profile_id,
                full_name=p.name,
                emails=(p.email,) if p.email else (),
                twitter_user_id=p.twitter_user_id,
                twitter_handle=p.twitter_handle,
                linkedin_profile_id=p.linkedin_profile_id,
            )
    return list(extra.values())


def _participant_key(p: Participant) -> tuple[str, str] | None:
    if normalise_email(p.email):
        return ("email", normalise_email(p.email))
    if p.twitter_user_id:
        return ("twitter_user_id", p.twitter_user_id)
    if p.linkedin_profile_id:
        return ("linkedin_profile_id", p.linkedin_profile_id)
    return None


def _is_keyless(record: ContactRecord) -> bool:
    return not (
        record.emails
        or record.external_id
        or record.twitter_user_id
        or record.linkedin_profile_id
        or record.linkedin_url
    )


def _drop_known_keyless(
    owner: User, records: list[ContactRecord]
) -> tuple[list[ContactRecord], int]:
    """Leave out name-only records whose name is already a name-only contact.

    ``contacts_upsert`` matches on ids and emails only, so a record with
    neither (a vCard of names, a 2018 LinkedIn row without an email) would
    be created again by every re-import. Matching such a record by name to
    a contact that also has nothing else to match on keeps re-imports
    idempotent without merging people who have real keys.
    Missing: this belongs in contacts_upsert's matching, so that syncs get
    it too; move it there and delete this.
    """
    names = sorted({r.full_name for r in records if r.full_name and _is_keyless(r)})
    if not names:
        return records, 0
    known: set[str] = set()
    for start in range(0, len(names), BULK_BATCH_SIZE):
        rows = Contact.objects.filter(
            owner=owner, full_name__in=names[start : start + BULK_BATCH_SIZE]
        ).values_list(
            "full_name",
            "emails",
            "google_resource_name",
            "twitter_user_id",
            "linkedin_profile_id",
            "linkedin_url_key",
        )
        known.update(name for name, *keys in rows if not any(keys))
    kept = [r for r in records if not (_is_keyless(r) and r.full_name in known)]
    return kept, len(records) - len(kept)


def _count(
    recorder: RunRecorder,
    *,
    result: ParseResult,
    applied: _Applied,
    warn_unmatched: bool,
) -> None:
    """Fill the run's counters and details from what the write path did."""
    contacts, interactions = applied.contacts, applied.interactions
    recorder.fetched += result.items_read
    recorder.created += contacts.created + interactions.created
    recorder.updated += contacts.updated
    recorder.skipped += (
        contacts.unchanged
        + applied.known_keyless
        + interactions.skipped_existing
        + len(interactions.unmatched)
    )
    recorder.rescored += applied.rescore.examined
    for problem in result.errors:
        recorder.fail_item(problem)
    for problem in result.warnings:
        recorder.warn(problem)
    if warn_unmatched:
        for problem in interactions.unmatched:
            recorder.warn(problem)
    recorder.details.update(
        {
            "contacts_created": contacts.created,
            "contacts_updated": contacts.updated,
            "contacts_unchanged": contacts.unchanged + applied.known_keyless,
            "interactions_created": interactions.created,
            "interactions_existing": interactions.skipped_existing,
            "unmatched_participants": len(interactions.unmatched),
            "scores_changed": applied.rescore.changed,
            "suggestions_dismissed": applied.dismissed,
        }
    )


# --- provider syncs ----------------------------------------------------------


def provider_for(platform: str) -> Provider:
    """Return a new instance of the provider that syncs ``platform``."""
    try:
        path = PROVIDER_CLASSES[platform]
    except KeyError:
        raise ValueError(
            f"unknown provider {platform!r}; "
            f"expected one of {', '.join(PROVIDER_CLASSES)}"
        ) from None
    return import_string(path)()


def _store_cursor(*, account: ProviderAccount, platform: str, cursor: dict) -> None:
    # Re-read under a row lock: Gmail and Calendar runs of one account run
    # at the same time and each must keep the other's cursor.
    fresh = (
        ProviderAccount.objects.select_for_update().only("cursor").get(pk=account.pk)
    )
    stored = dict(fresh.cursor or {})
    stored[platform] = cursor
    ProviderAccount.objects.filter(pk=account.pk).update(cursor=stored)
    account.cursor = stored


def sync_provider(
    *,
    account: ProviderAccount,
    platform: str,
    trigger: str,
    now: dt.datetime | None = None,
    provider: Provider | None = None,
    http=None,
    lock_holder: str | None = None,
) -> SyncRun:
    """Run one sync of ``platform`` for ``account`` and return its SyncRun.

    1. Take the (user, platform) lock; when another run holds it, record
       this one as skipped. Taking over a lease its holder never released
       ends the earlier runs left "started" as interrupted.
    2. Fetch from the stored cursor, outside any transaction (a network
       call must not hold the database).
    3. In one transaction: upsert, rescore what got new interactions,
       dismiss answered follow-ups, store the next cursor.

    A revoked grant marks the account "reauth required", notifies the user
    once and ends the run as failed; nothing is deleted. A transient error
    (rate limit, 5xx) is recorded and re-raised for the task to retry.
    ``http`` goes to the Google providers' ``fetch`` (tests replay
    recorded responses through it). ``lock_holder`` names who claims the
    lock (the task id, so that a redelivered task takes over the lock its
    killed first delivery left claimed; see ``sync_lock_claim``).
    """
    if ACCOUNT_KINDS.get(platform) not in (None, account.kind):
        raise ValueError(f"{platform} cannot sync a {account.kind} account")
    now = now or timezone.now()
    provider = provider or provider_for(platform)
    owner = account.owner
    retry_error: ProviderError | None = None

    with instrumented_run(
        owner=owner, platform=platform, trigger=trigger, account=account
    ) as recorder:
        try:
            with sync_lock(
                owner=owner,
                platform=platform,
                holder=lock_holder,
                on_abandoned=lambda previous: sync_runs_interrupt_left_behind(
                    run=recorder.run, abandoned_holder=previous
                ),
            ):
                cursor = dict((account.cursor or {}).get(platform) or {})
                extra = {"http": http} if http is not None else {}
                result = provider.fetch(
                    credentials=account_credentials(account),
                    cursor=cursor,
                    now=now,
                    **extra,
                )
                with transaction.atomic():
                    applied = _apply_records(
                        owner=owner,
                        result=result,
                        now=now,
                        create_contacts=CREATES_CONTACTS.get(platform, True),
                    )
                    next_cursor = {
                        k: v for k, v in result.cursor.items() if k != FULL_RESYNC
                    }
                    if next_cursor:
                        _store_cursor(
                            account=account, platform=platform, cursor=next_cursor
                        )
                    if account.status != ProviderAccount.STATUS_CONNECTED:
                        # It fetched, so the grant works again.
                        account.status = ProviderAccount.STATUS_CONNECTED
                        ProviderAccount.objects.filter(pk=account.pk).update(
                            status=account.status
                        )
                _count(
                    recorder,
                    result=result,
                    applied=applied,
                    warn_unmatched=platform != PROVIDER_GMAIL,
                )
                if result.cursor.get(FULL_RESYNC):
                    recorder.details[FULL_RESYNC] = True
        except SyncLocked as exc:
            recorder.mark_skipped(str(exc))
        except ProviderError as exc:
            if exc.reauth:
                notified = account_mark_reauth_required(
                    account=account, platform=platform, reason=str(exc)
                )
                recorder.details["reauth_required"] = True
                recorder.details["notified"] = notified
                recorder.mark_failed(f"reauth required: {exc}")
            elif exc.permanent:
                recorder.mark_failed(str(exc))
            else:
                recorder.details["retrying"] = True
                if exc.retry_after is not None:
                    recorder.details["retry_after"] = exc.retry_after
                recorder.mark_partial(f"will retry: {exc}")
                retry_error = exc

    if retry_error is not None:
        raise retry_error
    return recorder.run


# --- file imports ------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, or would do on a dry run (``run`` is then None)."""

    path: str
    format: str
    dry_run: bool
    run: SyncRun | None
    fetched: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    rescored: int = 0
    query_count: int = 0
    details: dict = field(default_factory=dict)
    problems: list[RecordProblem] = field(default_factory=list)
    warnings: list[RecordProblem] = field(default_factory=list)


def _report(
    recorder: RunRecorder, *, path: Path, fmt: str, dry_run: bool, queries: int
) -> ImportReport:
    return ImportReport(
        path=str(path),
        format=fmt,
        dry_run=dry_run,
        run=None if dry_run else recorder.run,
        fetched=recorder.fetched,
        created=recorder.created,
        updated=recorder.updated,
        skipped=recorder.skipped,
        failed=recorder.failed,
        rescored=recorder.rescored,
        query_count=queries,
        details=dict(recorder.details),
        problems=list(recorder.problems),
        warnings=list(recorder.warnings),
    )


def import_file(
    *,
    owner: User,
    path: str | Path,
    fmt: str | None = None,
    dry_run: bool = False,
    trigger: str = TRIGGER_IMPORT,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import the export at ``path`` for ``owner`` and report what it did.

    The format is detected unless ``fmt`` names it. Every counterpart
    becomes a contact, then the interactions are added, in one transaction
    for the whole file; a bad record is reported with its position and
    never stops the others. A dry run does all of it in a transaction that
    is rolled back: the counts are the real ones, nothing is written, not
    even a SyncRun. ``progress(step, done, total)`` is called as each of
    ``IMPORT_STEPS`` ends, with the step that starts next ("done" last).
    """
    path = Path(path)
    fmt = fmt or importers.detect_format(path)
    if fmt not in importers.FORMATS:
        raise importers.UnknownFormat(f"unknown format {fmt!r}")
    now = now or timezone.now()

    if dry_run:
        # An unsaved run: the recorder only counts.
        recorder = RunRecorder(run=SyncRun(owner=owner, platform=PROVIDER_IMPORT))
        with count_queries() as counter:
            result = _parse(
                recorder, owner=owner, path=path, fmt=fmt, progress=progress
            )
            try:
                with transaction.atomic():
                    applied = _apply_records(
                        owner=owner,
                        result=result,
                        now=now,
                        create_contacts=True,
                        progress=progress,
                    )
                    _count(
                        recorder, result=result, applied=applied, warn_unmatched=True
                    )
                    raise ImportAborted
            except ImportAborted:
                pass
        return _report(
            recorder, path=path, fmt=fmt, dry_run=True, queries=counter.count
        )

    with instrumented_run(
        owner=owner, platform=PROVIDER_IMPORT, trigger=trigger
    ) as recorder:
        result = _parse(recorder, owner=owner, path=path, fmt=fmt, progress=progress)
        with transaction.atomic():
            applied = _apply_records(
                owner=owner,
                result=result,
                now=now,
                create_contacts=True,
                progress=progress,
            )
        # Counted once the COMMIT has succeeded: a deferred foreign key
        # (a contact deleted meanwhile) can still fail it, and the run must
        # not then claim the rows it had written.
        _count(recorder, result=result, applied=applied, warn_unmatched=True)
    return _report(
        recorder, path=path, fmt=fmt, dry_run=False, queries=recorder.run.query_count
    )


def _parse(
    recorder: RunRecorder,
    *,
    owner: User,
    path: Path,
    fmt: str,
    progress: Progress | None,
) -> ParseResult:
    # Read before the transaction opens: parsing a large file must not
    # hold the database.
    recorder.details.update({"format": fmt, "file": path.name})
    result = importers.parse_file(owner=owner, path=path, fmt=fmt)
    _step(progress, 1)
    return result


# --- rescoring ---------------------------------------------------------------


def rescore_all(
    *,
    owner: User | None = None,
    trigger: str = TRIGGER_SCHEDULED,
    now: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[User, int, int], None] | None = None,
) -> list[SyncRun]:
    """Bring every score of ``owner`` (or of every active user) up to ``now``.

    The nightly rescore: per user, only the contacts whose interactions
    crossed a boundary of the formula since the user's previous run, or
    all of them the first time (``contacts.scoring.nightly_rescore_start``,
    which also takes the owner's write lock, so a racing sync or push
    waits instead of having its counts overwritten).
    One run per user, each in its own transaction: a user whose rescore
    fails gets a failed run and the others go on (the original shared one
    transaction, so one failure rolled back everyone's scores).
    ``progress(user, done, total)`` is called after each user.
    """
    now = now or timezone.now()
    owners = (
        [owner]
        if owner is not None
        else list(User.objects.filter(is_active=True).order_by("email"))
    )
    runs = []
    for number, user in enumerate(owners, start=1):
        recorder = None
        try:
            with instrumented_run(
                owner=user, platform=PROVIDER_SCORING, trigger=trigger
            ) as recorder:
                with transaction.atomic():
                    nightly = nightly_rescore_start(owner=user, now=now)
                    result = contacts_rescore(
                        contacts=nightly.contacts, now=now, batch_size=batch_size
                    )
                recorder.details["full"] = nightly.full
                recorder.fetched = result.examined
                recorder.rescored = result.examined
                recorder.updated = result.changed
                recorder.skipped = result.examined - result.changed
                recorder.details["update_statements"] = result.update_statements
        except Exception:
            logger.exception("rescore failed", extra={"owner_id": str(user.pk)})
        if recorder is not None:
            runs.append(recorder.run)
        if progress is not None:
            progress(user, number, len(owners))
    return runs
