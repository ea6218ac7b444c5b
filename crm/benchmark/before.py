"""The original's algorithms, copied in behaviour, for the benchmark only.

NOTHING IN THE PRODUCT IMPORTS THIS MODULE. Each function does what the
original backend did (spec §3.3-3.4, §4.3, §4.8, §4.9, §6.3-6.6): the same
statements in the same order, whole rows loaded, per-row work in Python.
Only the rules we changed on purpose come from our side, so that both
paths give the same answer and the benchmark compares cost alone:

- the score formula (``contacts.scoring.score_breakdown``);
- the Feb 29 rule (a leap-day birthday falls on Feb 28, or Mar 1, in other
  years; the original never showed it);
- overdue days counted between calendar days in the owner's time zone;
- ties ordered by name, then id (the original left them to the database).

The original used SQLAlchemy, whose flush writes an UPDATE only for rows
whose loaded values changed; the per-contact loops here do the same. Its
statement cache compiled the per-contact aggregate once; here it is
compiled once too (``ContactAggregate``), so the before path is charged for
its round trips and not for Django's query compiler.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Max, Min, Q
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_datetime

from contacts.models import (
    DEFAULT_THRESHOLDS,
    LEAP_DAY_MAR1,
    PRIORITY_ARCHIVED,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    Contact,
    FollowUpSuggestion,
    Interaction,
    User,
)
from contacts.scoring import INBOUND_LIKE, OUTBOUND_LIKE, ScoreInputs, score_breakdown
from contacts.selectors import overdue_annotations
from contacts.serializers import ContactSerializer
from syncjobs.models import (
    PROVIDER_LINKEDIN,
    STATUS_STARTED,
    STATUS_SUCCESS,
    TRIGGER_WEBHOOK,
    SyncRun,
)

logger = logging.getLogger(__name__)

PRIORITY_RANK = {PRIORITY_HIGH: 0, PRIORITY_MEDIUM: 1, PRIORITY_LOW: 2}
AVATAR_PREFIX = "/static/avatars/"
LINKEDIN_PROFILE_PREFIX = "https://www.linkedin.com/in/"
BACKFILL_MAX = 10
_INPUT_FIELDS = tuple(ScoreInputs.__dataclass_fields__)


def name_order_key(full_name: str | None, pk: uuid.UUID) -> tuple:
    """Return the tie-break both paths use: name (missing last), then id."""
    return (full_name is None, full_name or "", pk)


# --- scoring (spec §3.3-3.4) -------------------------------------------------


def interaction_aggregates(now: dt.datetime) -> dict:
    """Return the §3.1 aggregates over ``Interaction`` rows, ours' windows.

    The original's per-contact query ran over ``interactions WHERE
    contact_id = X``, with no join to contacts; these are the same
    conditional counts as ``contacts.scoring.score_aggregates`` without
    the join.
    """
    d30 = now - dt.timedelta(days=30)
    d90 = now - dt.timedelta(days=90)
    d365 = now - dt.timedelta(days=365)
    d2y = now - dt.timedelta(days=730)
    d5y = now - dt.timedelta(days=1825)
    counted = Q(occurred_at__lte=now) & ~Q(direction="event")
    inbound = counted & Q(direction__in=INBOUND_LIKE)
    outbound = counted & Q(direction__in=OUTBOUND_LIKE)

    def since(moment):
        return Q(occurred_at__gte=moment)

    def between(start, end):
        return since(start) & Q(occurred_at__lt=end)

    def count(condition):
        return Count("id", filter=condition)

    return {
        "s_inbound": count(inbound & since(d365)),
        "s_outbound": count(outbound & since(d365)),
        "s_inbound_1_2y": count(inbound & between(d2y, d365)),
        "s_outbound_1_2y": count(outbound & between(d2y, d365)),
        "s_inbound_2_5y": count(inbound & between(d5y, d2y)),
        "s_outbound_2_5y": count(outbound & between(d5y, d2y)),
        "s_last_inbound": Max("occurred_at", filter=inbound),
        "s_last_any": Max("occurred_at", filter=counted),
        "s_c30": count(counted & since(d30)),
        "s_c90": count(counted & between(d90, d30)),
        "s_c365": count(counted & between(d365, d90)),
        "s_c1_2y": count(counted & between(d2y, d365)),
        "s_c2_5y": count(counted & between(d5y, d2y)),
        "s_platforms": Count("platform", filter=counted, distinct=True),
        "s_lifetime_count": count(counted),
        "s_first_at": Min("occurred_at", filter=counted),
    }


def _inputs(row: dict) -> ScoreInputs:
    return ScoreInputs(**{name: row[f"s_{name}"] for name in _INPUT_FIELDS})


def as_aware(value) -> dt.datetime | None:
    """Return a raw cursor's datetime (SQLite gives text) as an aware UTC value."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = parse_datetime(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class ContactAggregate:
    """The per-contact aggregate SELECT, compiled once, run for any contact.

    SQLAlchemy, which the original ran on, caches compiled statements;
    Django compiles on every call, and for these sixteen filtered
    aggregates compiling costs ten times more than running the query. So
    the statement is compiled once, with a placeholder id, and only its
    parameter changes: the before path pays for its round trips, as the
    original did, and not for Django's compiler.
    """

    _DATETIMES = ("s_last_inbound", "s_last_any", "s_first_at")

    def __init__(self, now: dt.datetime) -> None:
        placeholder = uuid.UUID(int=0)
        queryset = (
            Interaction.objects.filter(contact_id=placeholder)
            .order_by()
            .values("contact_id")
            .annotate(**interaction_aggregates(now))
        )
        self.sql, params = queryset.query.sql_with_params()
        self.params = list(params)
        self.slot = self.params.index(self._prep(placeholder))

    @staticmethod
    def _prep(contact_id: uuid.UUID):
        return Interaction._meta.get_field("contact").get_db_prep_value(
            contact_id, connection
        )

    def inputs(self, contact_id: uuid.UUID) -> ScoreInputs:
        params = list(self.params)
        params[self.slot] = self._prep(contact_id)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
            names = [column[0] for column in cursor.description]
        if row is None:
            return ScoreInputs()
        data = dict(zip(names, row, strict=True))
        for name in self._DATETIMES:
            data[name] = as_aware(data[name])
        return _inputs(data)


def before_rescore_per_contact(*, owner: User, now: dt.datetime) -> int:
    """Rescore like the original's Gmail job: one contact at a time.

    Every contact of the owner with a last interaction (archived ones
    included), whatever the sync touched. Per contact: one aggregate
    SELECT over its interactions, one SELECT of the whole row, and one
    UPDATE when the score or count changed. Return the contacts examined.
    """
    aggregate = ContactAggregate(now)
    ids = list(
        Contact.objects.filter(owner=owner, last_interaction_at__isnull=False)
        .order_by()
        .values_list("id", flat=True)
    )
    for contact_id in ids:
        inputs = aggregate.inputs(contact_id)
        score = score_breakdown(inputs, now).total
        contact = Contact.objects.get(pk=contact_id)
        if (contact.relationship_score, contact.interaction_count) != (
            score,
            inputs.lifetime_count,
        ):
            contact.relationship_score = score
            contact.interaction_count = inputs.lifetime_count
            contact.save(
                update_fields=["relationship_score", "interaction_count", "updated_at"]
            )
    return len(ids)


def before_batch_update_scores(*, owner: User, now: dt.datetime) -> int:
    """Rescore like the original's nightly ``batch_update_scores``.

    One aggregate SELECT grouped by contact over the interactions of the
    owner's contacts, then one UPDATE statement per returned contact.
    Contacts without interactions are not touched. Return the rows updated.
    """
    rows = list(
        Interaction.objects.filter(contact__owner=owner)
        .order_by()
        .values("contact_id")
        .annotate(**interaction_aggregates(now))
    )
    for row in rows:
        inputs = _inputs(row)
        Contact.objects.filter(pk=row["contact_id"]).update(
            relationship_score=score_breakdown(inputs, now).total,
            interaction_count=inputs.lifetime_count,
        )
    return len(rows)


# --- birthdays and overdue (spec §4.8, §4.9) ---------------------------------


def birthday_window(
    *, today: dt.date, days: int, leap_day_birthdays_on: str
) -> dict[str, int]:
    """Return {"MM-DD": days from today} for today..today+days-1.

    In a year without Feb 29, "02-29" is added on Feb 28 (or Mar 1 with
    the "mar1" rule): ours' rule, where the original dropped it.
    """
    leap_day_on = (3, 1) if leap_day_birthdays_on == LEAP_DAY_MAR1 else (2, 28)
    window: dict[str, int] = {}
    for offset in range(days):
        day = today + dt.timedelta(days=offset)
        window.setdefault(f"{day.month:02d}-{day.day:02d}", offset)
        if not calendar.isleap(day.year) and (day.month, day.day) == leap_day_on:
            window.setdefault("02-29", offset)
    return window


def before_upcoming_birthdays(
    *, owner: User, today: dt.date, days: int = 7, limit: int = 10
) -> list[tuple[Contact, int]]:
    """Return (contact, days until) like the original's ``/birthdays``.

    Load every non-archived contact with a birthday, render the stored
    birthday as the original's string, take its last five characters as
    the "MM-DD" key and look it up in the window; sort and cut in Python.
    """
    window = birthday_window(
        today=today, days=days, leap_day_birthdays_on=owner.leap_day_birthdays_on
    )
    candidates = list(
        Contact.objects.filter(owner=owner, birthday__isnull=False).exclude(
            priority_level=PRIORITY_ARCHIVED
        )
    )
    matches = []
    for contact in candidates:
        key = contact.birthday_value.to_api().strip()[-5:]
        if key in window:
            matches.append((contact, window[key]))
    matches.sort(key=lambda m: (m[1], *name_order_key(m[0].full_name, m[0].pk)))
    return matches[:limit]


def overdue_days(
    *,
    last_interaction_at: dt.datetime,
    priority: str | None,
    today: dt.date,
    owner: User,
) -> int:
    """Return days overdue: calendar days since the last interaction - threshold."""
    thresholds = owner.priority_thresholds
    level = priority or PRIORITY_MEDIUM
    threshold = thresholds.get(level, DEFAULT_THRESHOLDS.get(level, 60))
    local_day = last_interaction_at.astimezone(owner.tzinfo).date()
    return (today - local_day).days - threshold


def before_overdue(
    *, owner: User, now: dt.datetime, limit: int = 10
) -> list[tuple[Contact, int]]:
    """Return (contact, days overdue) like the original's ``/overdue``.

    Load every non-archived contact with a last interaction, compute days
    overdue per contact in Python, keep the positive ones, sort, cut.
    """
    today = now.astimezone(owner.tzinfo).date()
    candidates = list(
        Contact.objects.filter(owner=owner, last_interaction_at__isnull=False).exclude(
            priority_level=PRIORITY_ARCHIVED
        )
    )
    items = []
    for contact in candidates:
        days = overdue_days(
            last_interaction_at=contact.last_interaction_at,
            priority=contact.priority_level,
            today=today,
            owner=owner,
        )
        if days > 0:
            items.append((contact, days))
    items.sort(
        key=lambda item: (
            -item[1],
            PRIORITY_RANK.get(item[0].priority_level, len(PRIORITY_RANK)),
            *name_order_key(item[0].full_name, item[0].pk),
        )
    )
    return items[:limit]


# --- the contact list (spec §4.3) ---------------------------------------------


def _birthday_text_key():
    """Return SQL for the original's key: the birthday's "MM-DD" as text."""
    if connection.vendor == "postgresql":
        return "to_char(birthday, 'MM-DD')"
    # SQLite stores a date as "YYYY-MM-DD" text.
    return "substr(birthday, 6)"


def before_contact_list(
    *, owner: User, sort: str, now: dt.datetime, page: int = 1, page_size: int = 50
) -> tuple[list[dict], int]:
    """Return (serialized page, total) the way the original's list ran.

    A COUNT, then the page by OFFSET with an ORDER BY that has no
    tie-break, whole rows. ``birthday`` uses the original's text key
    (upcoming "MM-DD" first, passed ones prefixed with "z"); ``overdue``
    uses ours' days-overdue order, since the original's own
    (oldest interaction first) answers a different question.
    """
    contacts = Contact.objects.filter(owner=owner).exclude(
        priority_level=PRIORITY_ARCHIVED
    )
    total = contacts.count()
    if sort == "birthday":
        today = now.astimezone(owner.tzinfo).date()
        key = _birthday_text_key()
        order = RawSQL(
            f"CASE WHEN {key} >= %s THEN {key} ELSE 'z' || {key} END",
            (f"{today.month:02d}-{today.day:02d}",),
        ).asc(nulls_last=True)
        ordered = contacts.order_by(order)
    elif sort == "overdue":
        today = now.astimezone(owner.tzinfo).date()
        ordered = contacts.annotate(
            **overdue_annotations(owner=owner, today=today)
        ).order_by(F("days_overdue").desc(nulls_last=True))
    else:
        raise ValueError(f"no before path for sort={sort!r}")
    start = (page - 1) * page_size
    rows = list(ordered[start : start + page_size])
    return ContactSerializer(rows, many=True).data, total


# --- the LinkedIn push (spec §6.3-6.6) ----------------------------------------


@dataclass
class PushOutcome:
    contacts_created: int = 0
    contacts_updated: int = 0
    interactions_created: int = 0
    interactions_skipped: int = 0
    backfill_needed: list[dict] = field(default_factory=list)


def _split_name(full_name: str | None) -> tuple[str | None, str | None]:
    parts = (full_name or "").split(None, 1)
    return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)


def _fill(contact: Contact, name: str, value) -> bool:
    """Apply the original's fill-blank setter; return whether it wrote."""
    if (
        not value
        or name in (contact.user_edited_fields or [])
        or getattr(contact, name)
    ):
        return False
    setattr(contact, name, value)
    return True


def _parse_time(value: str, now: dt.datetime) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return now


class _Maps:
    """The original's three dictionaries over every contact of the user."""

    def __init__(self, contacts: list[Contact]) -> None:
        self.by_id: dict[str, Contact] = {}
        self.by_url: dict[str, Contact] = {}
        self.by_name: dict[str, Contact] = {}
        for contact in contacts:
            self.add(contact)

    def add(self, contact: Contact, *, url: bool = True) -> None:
        if contact.linkedin_profile_id:
            self.by_id[contact.linkedin_profile_id] = contact
        if url and contact.linkedin_url:
            self.by_url[contact.linkedin_url.rstrip("/")] = contact
        if contact.full_name:
            self.by_name[contact.full_name.lower()] = contact


def _push_profile(
    owner: User, maps: _Maps, profile: dict, outcome: PushOutcome
) -> Contact:
    profile_id = profile["profile_id"]
    url = (profile.get("profile_url") or "").rstrip("/")
    contact = maps.by_id.get(profile_id) or maps.by_url.get(url)
    headline = profile.get("headline")
    if contact is None:
        given, family = _split_name(profile["full_name"])
        contact = Contact.objects.create(
            owner=owner,
            full_name=profile["full_name"],
            given_name=given,
            family_name=family,
            linkedin_profile_id=profile_id,
            linkedin_url=url,
            linkedin_headline=headline,
            linkedin_bio=profile.get("about"),
            company=profile.get("company"),
            location=profile.get("location"),
        )
        maps.add(contact)
        outcome.contacts_created += 1
        return contact

    _fill(contact, "full_name", profile["full_name"])
    if headline:
        contact.linkedin_headline = headline
        title = headline.split(" @ ")[0].split(" at ")[0].strip()
        if title and len(title) < 100:
            _fill(contact, "title", title)
    _fill(contact, "company", profile.get("company"))
    _fill(contact, "location", profile.get("location"))
    if profile.get("about"):
        contact.linkedin_bio = profile["about"]
    if url:
        contact.linkedin_url = url
    if not contact.linkedin_profile_id:
        contact.linkedin_profile_id = profile_id
    if contact.avatar_url and not contact.avatar_url.startswith(AVATAR_PREFIX):
        contact.avatar_url = None
    # The avatar routine has nothing to do: the benchmark sends no images.
    contact.save()
    maps.add(contact)
    outcome.contacts_updated += 1
    return contact


def _message_contact(
    owner: User, maps: _Maps, message: dict, outcome: PushOutcome
) -> Contact:
    profile_id = message["profile_id"]
    name = message.get("profile_name") or ""
    contact = maps.by_id.get(profile_id)
    if contact is None:
        contact = maps.by_url.get(f"{LINKEDIN_PROFILE_PREFIX}{profile_id}")
        if contact is None and name:
            contact = maps.by_name.get(name.lower())
        if contact is not None and not contact.linkedin_profile_id:
            contact.linkedin_profile_id = profile_id
            maps.by_id[profile_id] = contact
    if contact is None:
        given, family = _split_name(name)
        contact = Contact.objects.create(
            owner=owner,
            full_name=name,
            given_name=given,
            family_name=family,
            linkedin_profile_id=profile_id,
            linkedin_url=f"{LINKEDIN_PROFILE_PREFIX}{profile_id}"
            if profile_id
            else None,
        )
        maps.add(contact, url=False)
        outcome.contacts_created += 1
    return contact


def _backfill(owner: User, touched: dict[uuid.UUID, Contact]) -> list[dict]:
    chosen = [
        c
        for c in touched.values()
        if c.linkedin_profile_id and not (c.title and c.company and c.avatar_url)
    ]
    if len(chosen) < BACKFILL_MAX:
        extra = (
            Contact.objects.filter(
                owner=owner, linkedin_profile_id__isnull=False, avatar_url__isnull=True
            )
            .filter(
                ~Q(linkedin_profile_id__startswith="ACo")
                | Q(linkedin_url__isnull=False)
            )
            .exclude(pk__in=list(touched))[: BACKFILL_MAX - len(chosen)]
        )
        chosen += list(extra)
    return [
        {
            "contact_id": str(c.pk),
            "linkedin_profile_id": c.linkedin_profile_id,
            "linkedin_url": c.linkedin_url,
        }
        for c in chosen
    ]


def before_linkedin_push(
    *, owner: User, payload: dict, now: dt.datetime
) -> PushOutcome:
    """Apply a push body like the original's ``POST /linkedin/push``.

    1. Load every contact of the user, whole rows, into three maps.
    2. One SELECT for which message keys exist already.
    3. Profiles in order (an UPDATE or an INSERT each), then messages in
       order (an INSERT each, plus an INSERT for each stub contact).
    4. One UPDATE per contact that gained interactions, one UPDATE
       dismissing suggestions, the SyncEvent (INSERT, UPDATE), and the
       backfill SELECT.
    """
    outcome = PushOutcome()
    maps = _Maps(list(Contact.objects.filter(owner=owner)))
    messages = payload.get("messages", [])
    keys = [
        f"linkedin:{m['conversation_id']}:{m.get('content_hash') or m['timestamp']}"
        for m in messages
    ]
    existing = set(
        Interaction.objects.filter(owner=owner, raw_reference_id__in=keys).values_list(
            "raw_reference_id", flat=True
        )
    )

    touched: dict[uuid.UUID, Contact] = {}
    for profile in payload.get("profiles", []):
        contact = _push_profile(owner, maps, profile, outcome)
        touched.setdefault(contact.pk, contact)

    dirty: dict[uuid.UUID, Contact] = {}
    for message, key in zip(messages, keys, strict=True):
        if key in existing:
            outcome.interactions_skipped += 1
            continue
        contact = _message_contact(owner, maps, message, outcome)
        occurred_at = _parse_time(message["timestamp"], now)
        direction = "outbound" if message["direction"] == "outbound" else "inbound"
        Interaction.objects.create(
            owner=owner,
            contact=contact,
            platform="linkedin",
            direction=direction,
            content_preview=(message.get("content_preview") or "")[:500] or None,
            raw_reference_id=key,
            occurred_at=occurred_at,
        )
        if (
            contact.last_interaction_at is None
            or occurred_at > contact.last_interaction_at
        ):
            contact.last_interaction_at = occurred_at
        contact.interaction_count += 1
        dirty[contact.pk] = contact
        touched.setdefault(contact.pk, contact)
        outcome.interactions_created += 1

    for contact in dirty.values():
        contact.save(
            update_fields=[
                "last_interaction_at",
                "interaction_count",
                "linkedin_profile_id",
                "updated_at",
            ]
        )
    FollowUpSuggestion.objects.filter(
        owner=owner, status="pending", contact_id__in=list(dirty)
    ).update(status="dismissed")
    if (
        outcome.contacts_created
        + outcome.contacts_updated
        + outcome.interactions_created
    ):
        event = SyncRun.objects.create(
            owner=owner,
            platform=PROVIDER_LINKEDIN,
            sync_type=TRIGGER_WEBHOOK,
            status=STATUS_STARTED,
            started_at=now,
        )
        event.status = STATUS_SUCCESS
        event.records_created = outcome.contacts_created + outcome.interactions_created
        event.records_updated = outcome.contacts_updated
        event.completed_at = now
        event.duration_ms = 0
        event.save()
    outcome.backfill_needed = _backfill(owner, touched)
    return outcome
