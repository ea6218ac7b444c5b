"""The 0-10 relationship score: the formula, its breakdown, batch rescoring.

The formula is the original's (spec §3): reciprocity 0-4, recency 0-3,
frequency 0-2, breadth 0-1, tenure 0-2, total capped at 10, with the same
windows, weights and thresholds. Four deliberate differences, each tested:

1. Halves round up (2.5 -> 3). The original used Python's round(), which
   rounds halves to even, so 5 in / 8 out scored 2 but 7 in / 8 out 4.
2. A ``mutual`` interaction (a meeting) counts as one inbound and one
   outbound: the other person took part. The original left meetings out
   of reciprocity entirely, so meeting someone often lowered their score.
3. ``event`` rows (a bio change) are not contact with the person and
   count nowhere. The original counted them as activity.
4. Interactions dated after ``now`` count nowhere. The original put them
   in the newest window, so a future meeting read as "talked today".

Scoring every contact goes through ``contacts_rescore``: ONE aggregate query
for the whole set (conditional counts per window, grouped by contact), the
arithmetic per row in Python, then one UPDATE per batch of the rows whose
values changed.

The nightly rescore (``nightly_rescore_start``) feeds it only the contacts
whose interactions' ages crossed one of the formula's boundaries since the
previous night: about 6% of them a day later at 10,000 contacts.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import Contact, Interaction, User
from contacts.services import owner_write_lock_condition
from crm.bulkupdate import bulk_update_rows
from crm.compiled_sql import prepared_query

logger = logging.getLogger(__name__)

RECIPROCITY_MAX = 4
RECENCY_MAX = 3
FREQUENCY_MAX = 2
BREADTH_MAX = 1
TENURE_MAX = 2
TOTAL_MAX = 10

# Weight of a message from 1-2 and 2-5 years ago against one from this year.
WEIGHT_1_2Y = 0.05
WEIGHT_2_5Y = 0.02
FREQUENCY_WEIGHTS = {"c30": 1.0, "c90": 0.3, "c365": 0.1, "c1_2y": 0.05, "c2_5y": 0.02}

INBOUND_LIKE = ("inbound", "mutual")
OUTBOUND_LIKE = ("outbound", "mutual")

# Window edges of the counts, in days before ``now`` (spec §3.1).
WINDOW_DAYS = (30, 90, 365, 730, 1825)
# Recency: raw points while the newest message is at most this many whole
# days old, first match wins.
RECENCY_STEPS = ((7, 3), (30, 2), (90, 1))
# Tenure: (interactions at least, years at least, points), first match wins.
TENURE_STEPS = ((50, 2, 2), (20, 1, 1))
DAYS_PER_YEAR = 365.25

DEFAULT_BATCH_SIZE = 1000
# Most contact ids one aggregate reads by IN list (SQLite allows 32,766).
ID_LIST_MAX = 20_000
# Most contact ids one rescore reads through compiled_sql; each power of
# two up to it is one shape kept per thread.
PREPARED_IDS_MAX = 1024


@dataclass(frozen=True)
class ScoreInputs:
    """Per-contact aggregates over its interactions (spec §3.1)."""

    inbound: int = 0
    outbound: int = 0
    inbound_1_2y: int = 0
    outbound_1_2y: int = 0
    inbound_2_5y: int = 0
    outbound_2_5y: int = 0
    last_inbound: dt.datetime | None = None
    last_any: dt.datetime | None = None
    c30: int = 0
    c90: int = 0
    c365: int = 0
    c1_2y: int = 0
    c2_5y: int = 0
    platforms: int = 0
    lifetime_count: int = 0
    first_at: dt.datetime | None = None


@dataclass(frozen=True)
class ScoreBreakdown:
    reciprocity: int
    recency: int
    frequency: int
    breadth: int
    tenure: int
    total: int
    inputs: ScoreInputs

    def dimensions(self) -> dict[str, dict[str, int]]:
        return {
            "reciprocity": {"value": self.reciprocity, "max": RECIPROCITY_MAX},
            "recency": {"value": self.recency, "max": RECENCY_MAX},
            "frequency": {"value": self.frequency, "max": FREQUENCY_MAX},
            "breadth": {"value": self.breadth, "max": BREADTH_MAX},
            "tenure": {"value": self.tenure, "max": TENURE_MAX},
        }


def round_half_up(value: float) -> int:
    # The epsilon absorbs float noise such as 4 * 0.625 = 2.4999999.
    return math.floor(value + 0.5 + 1e-9)


def _as_aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _whole_days(now: dt.datetime, then: dt.datetime) -> int:
    return (now - _as_aware(then)).days


def reciprocity_score(inputs: ScoreInputs) -> int:
    eff_in = (
        inputs.inbound
        + WEIGHT_1_2Y * inputs.inbound_1_2y
        + WEIGHT_2_5Y * inputs.inbound_2_5y
    )
    eff_out = (
        inputs.outbound
        + WEIGHT_1_2Y * inputs.outbound_1_2y
        + WEIGHT_2_5Y * inputs.outbound_2_5y
    )
    if eff_in <= 0 or eff_out <= 0:
        return 0
    return round_half_up(RECIPROCITY_MAX * min(eff_in, eff_out) / max(eff_in, eff_out))


def recency_score(inputs: ScoreInputs, now: dt.datetime) -> int:
    """Score how recently they wrote; half weight if they never wrote."""
    if inputs.last_inbound is not None:
        base, multiplier = inputs.last_inbound, 1.0
    elif inputs.last_any is not None:
        base, multiplier = inputs.last_any, 0.5
    else:
        return 0
    days = _whole_days(now, base)
    raw = next((points for most, points in RECENCY_STEPS if days <= most), 0)
    return round_half_up(raw * multiplier)


def frequency_score(inputs: ScoreInputs) -> int:
    weighted = sum(getattr(inputs, name) * w for name, w in FREQUENCY_WEIGHTS.items())
    # Compare with a little slack so 0.3 * 10 (= 2.9999999) counts as 3.
    if weighted >= 8 - 1e-9:
        return 2
    if weighted >= 3 - 1e-9:
        return 1
    return 0


def breadth_score(inputs: ScoreInputs) -> int:
    return 1 if inputs.platforms >= 2 else 0


def tenure_score(inputs: ScoreInputs, now: dt.datetime) -> int:
    if inputs.first_at is None:
        return 0
    years = _whole_days(now, inputs.first_at) / DAYS_PER_YEAR
    for least_count, least_years, points in TENURE_STEPS:
        if inputs.lifetime_count >= least_count and years >= least_years:
            return points
    return 0


def score_breakdown(inputs: ScoreInputs, now: dt.datetime) -> ScoreBreakdown:
    """Return every component of the score for one contact's aggregates."""
    parts = {
        "reciprocity": reciprocity_score(inputs),
        "recency": recency_score(inputs, now),
        "frequency": frequency_score(inputs),
        "breadth": breadth_score(inputs),
        "tenure": tenure_score(inputs, now),
    }
    return ScoreBreakdown(
        **parts, total=min(TOTAL_MAX, sum(parts.values())), inputs=inputs
    )


def window_edges(now: dt.datetime) -> tuple[dt.datetime, ...]:
    """Return the moments the count windows start at, newest first (WINDOW_DAYS)."""
    return tuple(now - dt.timedelta(days=d) for d in WINDOW_DAYS)


def score_aggregates(
    now: dt.datetime, edges: tuple[dt.datetime, ...] | None = None
) -> dict:
    """Return the annotations that compute ScoreInputs for each contact.

    Used on a Contact queryset: one LEFT JOIN to interactions, grouped by
    contact, so contacts without interactions get zeros (and score 0).
    ``edges`` are ``window_edges(now)``, passed in where each must reach
    the SQL as given (``crm.compiled_sql.prepared_rows``).
    """
    d30, d90, d365, d2y, d5y = window_edges(now) if edges is None else edges
    counted = Q(interactions__occurred_at__lte=now) & ~Q(
        interactions__direction="event"
    )
    inbound = counted & Q(interactions__direction__in=INBOUND_LIKE)
    outbound = counted & Q(interactions__direction__in=OUTBOUND_LIKE)

    def at_least(since):
        return Q(interactions__occurred_at__gte=since)

    def between(since, until):
        return at_least(since) & Q(interactions__occurred_at__lt=until)

    def count(condition):
        return Count("interactions", filter=condition)

    return {
        "s_inbound": count(inbound & at_least(d365)),
        "s_outbound": count(outbound & at_least(d365)),
        "s_inbound_1_2y": count(inbound & between(d2y, d365)),
        "s_outbound_1_2y": count(outbound & between(d2y, d365)),
        "s_inbound_2_5y": count(inbound & between(d5y, d2y)),
        "s_outbound_2_5y": count(outbound & between(d5y, d2y)),
        "s_last_inbound": Max("interactions__occurred_at", filter=inbound),
        "s_last_any": Max("interactions__occurred_at", filter=counted),
        "s_c30": count(counted & at_least(d30)),
        "s_c90": count(counted & between(d90, d30)),
        "s_c365": count(counted & between(d365, d90)),
        "s_c1_2y": count(counted & between(d2y, d365)),
        "s_c2_5y": count(counted & between(d5y, d2y)),
        "s_platforms": Count("interactions__platform", filter=counted, distinct=True),
        "s_lifetime_count": count(counted),
        "s_first_at": Min("interactions__occurred_at", filter=counted),
    }


_INPUT_FIELDS = tuple(ScoreInputs.__dataclass_fields__)


def _inputs_from_row(row: dict) -> ScoreInputs:
    return ScoreInputs(**{name: row[f"s_{name}"] for name in _INPUT_FIELDS})


def contact_score_breakdown(
    contact: Contact, *, now: dt.datetime | None = None
) -> ScoreBreakdown:
    """Return the breakdown of one contact's score (one query)."""
    now = now or timezone.now()
    row = (
        Contact.objects.filter(pk=contact.pk)
        .annotate(**score_aggregates(now))
        .values(*(f"s_{name}" for name in _INPUT_FIELDS))
        .get()
    )
    return score_breakdown(_inputs_from_row(row), now)


def contact_platforms(contact: Contact, *, now: dt.datetime | None = None) -> list[str]:
    now = now or timezone.now()
    return sorted(
        Interaction.objects.filter(contact=contact, occurred_at__lte=now)
        .exclude(direction="event")
        .values_list("platform", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class RescoreResult:
    examined: int
    changed: int
    update_statements: int


_STORED = ("relationship_score", "interaction_count", "last_interaction_at")


def rescore_aggregate(
    contacts: QuerySet[Contact],
    now: dt.datetime,
    edges: tuple[dt.datetime, ...] | None = None,
) -> QuerySet:
    """Return the aggregate query the rescore reads: one row per contact."""
    # values() before annotate(): GROUP BY these four columns only. After
    # it, SQLite (which cannot group by the primary key alone) groups by
    # every column of the contact, 3.4 times slower at 10,000 contacts.
    return (
        contacts.order_by()
        .values("pk", *_STORED)
        .annotate(**score_aggregates(now, edges))
        .values("pk", *_STORED, *(f"s_{name}" for name in _INPUT_FIELDS))
    )


def _owned_aggregate_rows(*, owner_id, ids: list, now: dt.datetime) -> list[dict]:
    """Return the aggregate rows of the owner's contacts of ``ids``, compiled once.

    The SQL is compiled once per number of ids; the list is padded (with
    its last id, which changes no row) to the next power of two, so a
    thread keeps a few shapes. Building the aggregate through the ORM cost
    6.0 ms of CPU per small LinkedIn push on SQLite, running it 0.33 ms.
    """
    owner_id = _as_uuid(owner_id)
    ids = sorted(_as_uuid(pk) for pk in ids)
    size = 1 << (len(ids) - 1).bit_length()
    ids += ids[-1:] * (size - len(ids))
    arguments = [owner_id, *ids, now, *window_edges(now)]

    def build(stand_ins: list) -> QuerySet:
        pks, times = stand_ins[1 : 1 + size], stand_ins[1 + size :]
        owned = owned_contacts_by_pk(owner_id=stand_ins[0], ids=pks)
        return rescore_aggregate(owned, times[0], edges=tuple(times[1:]))

    compiled = prepared_query(("rescore aggregate", size), build, arguments)
    return compiled.dicts(arguments)


def _as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _scored_rows(rows: Iterable[dict], now: dt.datetime) -> Iterator[tuple]:
    """Yield (pk, stored values, new values) for each aggregate row."""
    for row in rows:
        inputs = _inputs_from_row(row)
        new = (
            score_breakdown(inputs, now).total,
            inputs.lifetime_count,
            _as_aware(inputs.last_any) if inputs.last_any else None,
        )
        yield row["pk"], tuple(row[name] for name in _STORED), new


def contacts_rescore(
    *,
    contacts: QuerySet[Contact],
    now: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RescoreResult:
    """Recompute score, interaction count and last interaction of ``contacts``.

    The last interaction is the newest ``occurred_at`` (never the import
    time, never a future date, never a bio-change event).

    1. One aggregate query over the set, read in chunks.
    2. Score each row in Python; keep only rows whose values changed.
    3. Write the changed rows, ``batch_size`` per UPDATE, with
       ``updated_at`` set explicitly: ``crm.bulkupdate`` joins a VALUES
       list, because Django's CASE-based bulk_update grows with the square
       of the batch.

    Changed rows are collected before writing because SQLite gives no
    isolation between a cursor still being read and writes on the same
    connection; only (id, score, count) triples are kept.
    """
    now = now or timezone.now()
    rows = rescore_aggregate(contacts, now).iterator(chunk_size=DEFAULT_BATCH_SIZE)
    return _rows_rescore(rows, now=now, batch_size=batch_size)


def _rows_rescore(
    rows: Iterable[dict], *, now: dt.datetime, batch_size: int
) -> RescoreResult:
    """Score the aggregate ``rows``; write the changed ones (``contacts_rescore``)."""
    examined = 0
    changed: list[tuple] = []
    for pk, stored, new in _scored_rows(rows, now):
        examined += 1
        if stored != new:
            changed.append((pk, *new))

    statements = bulk_update_rows(
        model=Contact,
        fields=[*_STORED, "updated_at"],
        rows=[(*row, now) for row in changed],
        batch_size=batch_size,
    )
    logger.debug(
        "rescored contacts", extra={"examined": examined, "changed": len(changed)}
    )
    return RescoreResult(
        examined=examined, changed=len(changed), update_statements=statements
    )


def owned_contacts_by_pk(*, owner_id, ids: Iterable) -> QuerySet[Contact]:
    """Return the contacts of ``ids`` that are ``owner_id``'s, found by primary key.

    The owner is checked in a correlated EXISTS on the user row, which no
    index of contacts can serve, so the primary key is the only way in.
    With ``owner_id = ?`` beside ``id IN (...)`` SQLite, which has no
    statistics (nothing runs ANALYZE), walks an (owner, ...) index over
    every contact of the owner to find the few hundred asked for: 178 ms
    for 235 ids at 100,000 contacts instead of 18 ms.
    """
    owned = User.objects.filter(pk=OuterRef("owner_id")).filter(pk=owner_id)
    return Contact.objects.filter(pk__in=sorted(ids)).filter(Exists(owned))


def contacts_rescore_ids(
    *, owner_id, contact_ids: Iterable, now: dt.datetime | None = None
) -> RescoreResult:
    """Rescore the given contacts of one owner (what a sync, import or push touched).

    A contact id of another owner is left alone. Up to PREPARED_IDS_MAX ids
    at a time the aggregate's SQL comes from ``crm.compiled_sql``; a longer
    list is compiled by the ORM, whose cost is small beside the query's.
    """
    now = now or timezone.now()
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return RescoreResult(examined=0, changed=0, update_statements=0)
    # One IN list keeps this one aggregate query; SQLite's variable limit
    # (32,766) is far above what one sync run touches per chunk.
    total = RescoreResult(examined=0, changed=0, update_statements=0)
    chunk = ID_LIST_MAX
    for start in range(0, len(ids), chunk):
        part_ids = ids[start : start + chunk]
        if len(part_ids) <= PREPARED_IDS_MAX:
            rows = _owned_aggregate_rows(owner_id=owner_id, ids=part_ids, now=now)
            part = _rows_rescore(rows, now=now, batch_size=DEFAULT_BATCH_SIZE)
        else:
            part = contacts_rescore(
                contacts=owned_contacts_by_pk(owner_id=owner_id, ids=part_ids),
                now=now,
            )
        total = RescoreResult(
            examined=total.examined + part.examined,
            changed=total.changed + part.changed,
            update_statements=total.update_statements + part.update_statements,
        )
    return total


# --- the nightly rescore ------------------------------------------------------

# Ages at which an interaction can move a stored score, as the formula above
# reads them (``now - occurred_at`` reaching the age changes a component):
# every window edge for any counted interaction; a recency step for the
# interaction recency is measured from; a tenure step for the first one.
# Whole days are floored, so "at most 7 days" ends at 8 days exactly, and
# "1 year" (365.25 days) begins at 366.
WINDOW_AGES = tuple(dt.timedelta(days=d) for d in WINDOW_DAYS)
RECENCY_AGES = tuple(dt.timedelta(days=most + 1) for most, _points in RECENCY_STEPS)
TENURE_AGES = tuple(
    dt.timedelta(days=math.ceil(years * DAYS_PER_YEAR))
    for _count, years, _points in TENURE_STEPS
)
LONGEST_AGE = max(WINDOW_AGES + RECENCY_AGES + TENURE_AGES)
# How long before the previous run's ``now`` the search starts. A sync or
# import rescores its contacts at the ``now`` it started with, which can be
# this long before it commits (the SyncLock lease is one hour); if it
# commits after a nightly run, its contacts are scored as of a moment
# before that run's ``now``. Missing: a writer that commits more than this
# after its ``now`` leaves its contacts unsearched for what crossed in
# between, until something else makes them cross or be touched again.
WRITER_LEEWAY = dt.timedelta(hours=1)
# Stands for "no last interaction" in comparisons: older than any.
NEVER = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class NightlyRescore:
    """The contacts a nightly rescore has to score, and why.

    ``since`` is the previous run's ``now``; None means every contact.
    """

    contacts: QuerySet[Contact]
    since: dt.datetime | None

    @property
    def full(self) -> bool:
        return self.since is None


def _aged(age: dt.timedelta, *, since: dt.datetime, now: dt.datetime) -> Q:
    """Match interactions that reached ``age`` between ``since`` and ``now``.

    Both ends are inclusive: a superset of each exact boundary, which differ
    by whether ``<`` or ``<=`` decides (windows start inclusive, whole days
    floor), and a superset only costs a contact rescored for nothing.
    """
    return Q(occurred_at__gte=since - age, occurred_at__lte=now - age)


def crossed_contact_ids(*, owner_id, since: dt.datetime, now: dt.datetime) -> QuerySet:
    """Return the contact ids of the owner's interactions that may have moved a score.

    Moved since ``since``, up to ``now``; an id may repeat. One statement
    of index range scans on (owner, occurred_at), one range per age, each
    with what makes that age matter:

    - a window edge (30, 90, 365, 730, 1825 days): any counted interaction;
    - a recency step (8, 31, 91 days): only the one recency is measured
      from: the newest inbound or mutual one, or the newest of all when the
      contact has none of those (up to ``now``);
    - a tenure step (366, 731 days): only the contact's first interaction;
    - age 0: an interaction dated after the moment its contact was scored
      (a meeting stored ahead of time) counts once that moment is past. It
      is the one newer than the contact's stored last interaction, which is
      the newest counted one at that moment.
    """
    start = since - WRITER_LEEWAY

    def beside(condition: Q, **when) -> Exists:
        # Each one an index probe of (contact, occurred_at), never a scan.
        return Exists(
            Interaction.objects.filter(
                condition, contact_id=OuterRef("contact_id"), **when
            )
        )

    def later(condition: Q) -> Exists:
        return beside(
            condition, occurred_at__gt=OuterRef("occurred_at"), occurred_at__lte=now
        )

    def earlier(condition: Q) -> Exists:
        return beside(condition, occurred_at__lt=OuterRef("occurred_at"))

    inbound_like = Q(direction__in=INBOUND_LIKE)
    counted = ~Q(direction="event")
    # Recency counts from the newest inbound or mutual interaction, or
    # from the newest of all when the contact has none of those.
    recency_base = (inbound_like & ~later(inbound_like)) | (
        ~inbound_like & ~later(counted) & ~earlier(inbound_like)
    )
    # A scalar sub-select, probed by primary key per row: as EXISTS,
    # PostgreSQL hashes every contact of every owner to join a day's rows.
    scored = Contact.objects.filter(pk=OuterRef("contact_id"))
    scored_last = Subquery(scored.values("last_interaction_at")[:1])
    newer_than_scored = Q(
        occurred_at__gt=Coalesce(
            scored_last, Value(NEVER, output_field=DateTimeField())
        )
    )
    # One SELECT per age, joined by UNION ALL: each is then a range scan of
    # the (owner, occurred_at) index that probes only its own rows. (As one
    # OR, PostgreSQL costs every probe for every row, and past its JIT
    # threshold spends more compiling the query than running it.)
    alternatives = [
        *((age, Q()) for age in WINDOW_AGES),
        *((age, recency_base) for age in RECENCY_AGES),
        *((age, ~earlier(counted)) for age in TENURE_AGES),
        (dt.timedelta(0), newer_than_scored),
    ]
    selects = [
        Interaction.objects.filter(
            _aged(age, since=start, now=now), counted, matters, owner_id=owner_id
        )
        .order_by()
        .values("contact_id")
        for age, matters in alternatives
    ]
    return selects[0].union(*selects[1:], all=True)


def nightly_rescore_start(*, owner: User, now: dt.datetime) -> NightlyRescore:
    """Lock the owner's writes, record ``now``, return the contacts to rescore.

    Call it inside the transaction that then rescores the returned contacts
    (``contacts_rescore``): the time is stored in that transaction, so a
    failed rescore leaves the previous one.

    ``owner.scores_as_of`` (T) means: when the run that stored T committed,
    every contact of the owner held the score, count and last interaction
    the formula gives for its interactions at T. After that a contact's
    stored values change only when its interactions do, and whoever
    changes them rescores it: a sync, import or push rescores the contacts
    it touched at its own ``now`` (at least T minus ``WRITER_LEEWAY``) and
    leaves T alone, since it did not look at the others. So every contact
    holds the formula's values at some moment t >= T - leeway, for its
    interactions as they are; if none of those crossed a boundary between
    t and ``now`` (``crossed_contact_ids``), they are its values at
    ``now`` too. Only the others are rescored, and T becomes ``now``.

    All contacts are rescored when there is no T, when T is in the future
    (a clock set back), when T is older than the longest age the formula
    reads (after which every interaction may have crossed something), or
    when more than ``ID_LIST_MAX`` contacts crossed (nearly all anyway).

    The owner's write lock rides in the UPDATE that stores ``now``, so the
    reads that follow (statements of their own, with their own snapshots)
    see everything a sync or push committed before, and none can commit
    until this transaction ends (issue 8: the rescore overwrote
    a racing push's counts with older ones). T is read from ``owner`` as
    loaded: an older T only widens the search. ``owner`` is not changed.
    """
    previous = owner.scores_as_of
    User.objects.filter(pk=owner.pk).filter(
        owner_write_lock_condition(owner_id=owner.pk)
    ).update(scores_as_of=now)
    contacts = Contact.objects.filter(owner=owner)
    if previous is None or previous > now or now - previous >= LONGEST_AGE:
        return NightlyRescore(contacts=contacts, since=None)
    crossed = crossed_contact_ids(owner_id=owner.pk, since=previous, now=now)
    # Read as a list, then an IN list: as a sub-select PostgreSQL reads the
    # aggregate's cursor with a fast-start plan that compares every contact
    # with every crossed id (1.7 s instead of 50 ms at 10,000 contacts).
    ids = {row["contact_id"] for row in crossed}
    if len(ids) > ID_LIST_MAX:
        return NightlyRescore(contacts=contacts, since=None)
    return NightlyRescore(
        contacts=owned_contacts_by_pk(owner_id=owner.pk, ids=ids), since=previous
    )
