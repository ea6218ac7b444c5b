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
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from contacts.models import Contact, Interaction
from crm.bulkupdate import bulk_update_rows

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

DEFAULT_BATCH_SIZE = 1000


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
    if days <= 7:
        raw = 3
    elif days <= 30:
        raw = 2
    elif days <= 90:
        raw = 1
    else:
        raw = 0
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
    years = _whole_days(now, inputs.first_at) / 365.25
    if inputs.lifetime_count >= 50 and years >= 2:
        return 2
    if inputs.lifetime_count >= 20 and years >= 1:
        return 1
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


def score_aggregates(now: dt.datetime) -> dict:
    """Return the annotations that compute ScoreInputs for each contact.

    Used on a Contact queryset: one LEFT JOIN to interactions, grouped by
    contact, so contacts without interactions get zeros (and score 0).
    """
    d30 = now - dt.timedelta(days=30)
    d90 = now - dt.timedelta(days=90)
    d365 = now - dt.timedelta(days=365)
    d2y = now - dt.timedelta(days=730)
    d5y = now - dt.timedelta(days=1825)
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


def _scored_rows(contacts: QuerySet[Contact], now: dt.datetime) -> Iterator[tuple]:
    """Yield (pk, stored values, new values) for each contact in ``contacts``."""
    rows = (
        contacts.order_by()
        .annotate(**score_aggregates(now))
        .values("pk", *_STORED, *(f"s_{name}" for name in _INPUT_FIELDS))
    )
    for row in rows.iterator(chunk_size=DEFAULT_BATCH_SIZE):
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
    examined = 0
    changed: list[tuple] = []
    for pk, stored, new in _scored_rows(contacts, now):
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


def contacts_rescore_ids(
    *, owner_id, contact_ids: Iterable, now: dt.datetime | None = None
) -> RescoreResult:
    """Rescore the given contacts of one owner (what a sync touched)."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        return RescoreResult(examined=0, changed=0, update_statements=0)
    # One IN list keeps this one aggregate query; SQLite's variable limit
    # (32,766) is far above what one sync run touches per chunk.
    total = RescoreResult(examined=0, changed=0, update_statements=0)
    chunk = 20_000
    for start in range(0, len(ids), chunk):
        part = contacts_rescore(
            contacts=Contact.objects.filter(
                owner_id=owner_id, pk__in=ids[start : start + chunk]
            ),
            now=now,
        )
        total = RescoreResult(
            examined=total.examined + part.examined,
            changed=total.changed + part.changed,
            update_statements=total.update_statements + part.update_statements,
        )
    return total
