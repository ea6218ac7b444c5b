"""Owner-scoped reads of contacts: list, birthdays, overdue, stats, tags, activity.

Every selector filters by owner, computes in SQL and returns a queryset (or a
few aggregates); none loads the owner's contacts into Python. The clock is
an argument (``now`` or ``today``), never read here.

Two annotation builders are shared with the list sorts, so a sort and its
endpoint can never disagree: ``birthday_days_until`` (``/birthdays`` and
``sort=birthday``) and ``overdue_annotations`` (``/overdue`` and
``sort=overdue``; the original sorted the list by a different rule).
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, Lower, TruncDate, TruncMonth
from django.shortcuts import get_object_or_404
from django_filters.utils import translate_validation

from contacts.filters import SCORE_TIERS, ContactFilter
from contacts.models import (
    LEAP_DAY_MAR1,
    PRIORITY_ARCHIVED,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    Contact,
    ContactTag,
    Interaction,
    User,
)
from contacts.scoring import contact_platforms, contact_score_breakdown
from contacts.sqlfunctions import DaysBetween

SORTS = (
    "score",
    "created",
    "interaction",
    "birthday",
    "company",
    "activity",
    "overdue",
)
DEFAULT_SORT = "score"
BIRTHDAY_WINDOW_MAX = 366
FORECAST_DAYS_MAX = 90
TREND_MONTHS = 6

_PRIORITY_ORDER = (PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_LOW)
_PRIORITY_VALUES = tuple(
    value for value, _label in Contact._meta.get_field("priority_level").choices
)


def local_today(*, owner: User, now: dt.datetime) -> dt.date:
    """Return the owner's calendar date at ``now`` (their time zone, not UTC)."""
    return now.astimezone(owner.tzinfo).date()


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    # A midnight skipped by a DST change resolves (fold=0) to the first
    # instant of that local day, which is what a day boundary needs.
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def _name():
    # NULLs placed explicitly: SQLite and PostgreSQL disagree by default.
    return F("full_name").asc(nulls_last=True)


def _name_then_id() -> list:
    return [_name(), "id"]


def contact_get(*, owner: User, contact_id: uuid.UUID) -> Contact:
    """Return the owner's contact, or raise Http404 (also for others' ids)."""
    return get_object_or_404(Contact, owner=owner, pk=contact_id)


# --- birthdays ---------------------------------------------------------------


def _leap_day_birthday_in(year: int, leap_day_birthdays_on: str) -> dt.date:
    if calendar.isleap(year):
        return dt.date(year, 2, 29)
    if leap_day_birthdays_on == LEAP_DAY_MAR1:
        return dt.date(year, 3, 1)
    return dt.date(year, 2, 28)


def _days_before_month(today: dt.date, year: int, month: int) -> int:
    """Return N such that day ``d`` of ``month`` in ``year`` is today + N + d."""
    return (dt.date(year, month, 1) - today).days - 1


def birthday_days_until(*, today: dt.date, leap_day_birthdays_on: str) -> Case:
    """Return an expression: days from ``today`` to the next birthday, or NULL.

    One ``When`` per month (two for the current month: still to come this
    year, or already passed and so next year), each ``birthday_day`` plus a
    constant worked out here. Feb 29 gets its own ``When``: in a year
    without one it falls on Feb 28, or Mar 1 when the owner chose "mar1".
    Today's birthday is 0.
    """
    this_leap_day = _leap_day_birthday_in(today.year, leap_day_birthdays_on)
    if this_leap_day < today:
        this_leap_day = _leap_day_birthday_in(today.year + 1, leap_day_birthdays_on)
    whens = [
        When(
            birthday_month=2,
            birthday_day=29,
            then=Value((this_leap_day - today).days),
        )
    ]
    day = F("birthday_day")
    for month in range(1, 13):
        this_year = Value(_days_before_month(today, today.year, month))
        next_year = Value(_days_before_month(today, today.year + 1, month))
        if month > today.month:
            whens.append(When(birthday_month=month, then=day + this_year))
        elif month < today.month:
            whens.append(When(birthday_month=month, then=day + next_year))
        else:
            whens.append(
                When(
                    birthday_month=month,
                    birthday_day__gte=today.day,
                    then=day + this_year,
                )
            )
            whens.append(When(birthday_month=month, then=day + next_year))
    return Case(*whens, default=None, output_field=IntegerField())


def _birthday_window(*, owner: User, today: dt.date, days: int) -> Q:
    """Return a Q matching at least every birthday in today..today+days-1.

    One (owner, month, day range) term per calendar month the window
    touches, so each is a range scan of the (owner, month, day) index. Feb
    29 is always a candidate (it moves to Feb 28 or Mar 1); the exact
    days-until filter decides.
    """
    window = Q(owner=owner, birthday_month=2, birthday_day=29)
    last = today + dt.timedelta(days=days - 1)
    cursor = today
    while cursor <= last:
        month_end = cursor.replace(
            day=calendar.monthrange(cursor.year, cursor.month)[1]
        )
        end = min(month_end, last)
        window |= Q(
            owner=owner,
            birthday_month=cursor.month,
            birthday_day__gte=cursor.day,
            birthday_day__lte=end.day,
        )
        cursor = end + dt.timedelta(days=1)
    return window


def contacts_upcoming_birthdays(
    *, owner: User, today: dt.date, days: int = 7, limit: int = 10
) -> QuerySet[Contact]:
    """Return the owner's next ``days`` days of birthdays, soonest first.

    ``today`` is the owner's local date. The window is today..today+days-1
    and wraps across the new year. Birthdays with and without a year
    count; archived contacts and text-only birthdays never do. Each row
    has ``birthday_days_until``; ties go by name, then id.
    """
    if not 1 <= days <= BIRTHDAY_WINDOW_MAX:
        raise ValueError(f"days must be 1..{BIRTHDAY_WINDOW_MAX}, got {days}")
    days_until = birthday_days_until(
        today=today, leap_day_birthdays_on=owner.leap_day_birthdays_on
    )
    return (
        Contact.objects.filter(_birthday_window(owner=owner, today=today, days=days))
        .exclude(priority_level=PRIORITY_ARCHIVED)
        .annotate(birthday_days_until=days_until)
        .filter(birthday_days_until__lt=days)
        .order_by("birthday_days_until", *_name_then_id())[:limit]
    )


# --- overdue -----------------------------------------------------------------


def priority_threshold(*, owner: User) -> Case:
    """Return an expression: the owner's threshold in days for each priority."""
    thresholds = owner.priority_thresholds
    return Case(
        *(When(priority_level=p, then=Value(thresholds[p])) for p in _PRIORITY_ORDER),
        default=None,
        output_field=IntegerField(),
    )


def priority_rank() -> Case:
    return Case(
        *(When(priority_level=p, then=Value(i)) for i, p in enumerate(_PRIORITY_ORDER)),
        default=Value(len(_PRIORITY_ORDER)),
        output_field=IntegerField(),
    )


def overdue_annotations(*, owner: User, today: dt.date) -> dict[str, Any]:
    """Return the annotations ``threshold_days``, ``days_since_interaction``
    and ``days_overdue`` (NULL when never contacted or archived).

    Days since are counted between calendar days in the owner's time zone:
    their today minus the local date of the last interaction, in SQL.
    """
    local_last = TruncDate("last_interaction_at", tzinfo=owner.tzinfo)
    return {
        "threshold_days": priority_threshold(owner=owner),
        "days_since_interaction": DaysBetween(
            Value(today, output_field=DateField()), local_last
        ),
        "days_overdue": F("days_since_interaction") - F("threshold_days"),
        "priority_rank": priority_rank(),
    }


def _last_interaction_ranges(
    *, owner: User, today: dt.date, offsets: tuple[int | None, int | None]
) -> Q:
    """Return, per priority, last_interaction_at between two local midnights.

    ``offsets`` (lo, hi) are added to ``today - threshold``; None leaves
    that side open. Each term is a range scan of the (owner, priority,
    last_interaction_at) index.
    """
    tz = owner.tzinfo
    ranges = Q(pk__in=[])
    for priority, threshold in owner.priority_thresholds.items():
        base = today - dt.timedelta(days=threshold)
        term = Q(owner=owner, priority_level=priority)
        lo, hi = offsets
        if lo is not None:
            term &= Q(
                last_interaction_at__gte=_local_midnight(
                    base + dt.timedelta(days=lo), tz
                )
            )
        if hi is not None:
            term &= Q(
                last_interaction_at__lt=_local_midnight(
                    base + dt.timedelta(days=hi), tz
                )
            )
        ranges |= term
    return ranges


# Longer than any local day (DST adds at most an hour): an instant plus this
# is past local midnight after the instant's own local date.
_PAST_NEXT_LOCAL_MIDNIGHT = dt.timedelta(hours=26)
# Later than any stored instant: the bound when fewer rows than asked exist.
_NO_BOUND = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
# No instant is earlier. As a lower bound it changes no row, but it makes
# PostgreSQL estimate "between this and a subquery's value" as a narrow
# range (0.5%) rather than a third of the rows, which had it plan a
# parallel scan of every contact for a few dozen rows.
_EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def _first_rows_bound(
    filtered: QuerySet[Contact], *, cutoff: dt.datetime | None, first: int
):
    """Return an expression: an upper bound on last_interaction_at that keeps,
    of ``filtered``'s rows, the ``first`` oldest and every row of the same
    local date as the ``first``-th; ``cutoff`` when fewer rows exist.

    Within one priority the overdue orders are last_interaction_at order
    (the local date is monotonic in the instant), so no row past this bound
    can be among the first ``first`` of the whole order. The ``first``-th
    value is a scalar subquery (one index step per row skipped) inside the
    same statement, so the statement stays one and cacheable as is.
    """
    nth = Subquery(
        filtered.order_by("last_interaction_at").values("last_interaction_at")[
            first - 1 : first
        ]
    )
    bound = ExpressionWrapper(
        nth + Value(_PAST_NEXT_LOCAL_MIDNIGHT), output_field=DateTimeField()
    )
    if cutoff is None:
        return Coalesce(bound, Value(_NO_BOUND, output_field=DateTimeField()))
    cutoff_value = Value(cutoff, output_field=DateTimeField())
    return Least(Coalesce(bound, cutoff_value), cutoff_value)


def _bounded_ranges(
    *,
    owner: User,
    today: dt.date,
    offsets: tuple[int | None, int],
    first: int,
) -> Q:
    """Return ``_last_interaction_ranges`` cut per priority to its first rows."""
    tz = owner.tzinfo
    ranges = Q(pk__in=[])
    for priority, threshold in owner.priority_thresholds.items():
        base = today - dt.timedelta(days=threshold)
        lo, hi = offsets
        term = Q(owner=owner, priority_level=priority)
        if lo is not None:
            term &= Q(
                last_interaction_at__gte=_local_midnight(
                    base + dt.timedelta(days=lo), tz
                )
            )
        cutoff = _local_midnight(base + dt.timedelta(days=hi), tz)
        counted = Contact.objects.filter(term, last_interaction_at__lt=cutoff)
        term &= Q(
            last_interaction_at__lt=_first_rows_bound(
                counted, cutoff=cutoff, first=first
            )
        )
        if lo is None:
            term &= Q(last_interaction_at__gte=_EARLIEST)
        ranges |= term
    return ranges


def contacts_overdue(
    *, owner: User, now: dt.datetime, limit: int = 10
) -> QuerySet[Contact]:
    """Return the owner's contacts past their priority's threshold.

    Overdue means days since the last interaction > threshold, which is
    the same as a last interaction before local midnight of
    (today - threshold): that cut-off is the filter, so the index serves
    it. Archived and never-contacted contacts are never overdue. Ordered
    by days overdue (most first), priority (high first), name, id.
    """
    today = local_today(owner=owner, now=now)
    return (
        Contact.objects.filter(
            _bounded_ranges(
                owner=owner, today=today, offsets=(None, 0), first=max(limit, 1)
            )
        )
        .annotate(**overdue_annotations(owner=owner, today=today))
        .order_by("-days_overdue", "priority_rank", *_name_then_id())[:limit]
    )


def contacts_overdue_forecast(
    *, owner: User, now: dt.datetime, days: int, limit: int = 10
) -> QuerySet[Contact]:
    """Return contacts not yet overdue who become overdue within ``days`` days.

    Each row has ``days_until_overdue`` (1..days) besides the overdue
    annotations; ordered by it, then priority, name and id.
    """
    if not 1 <= days <= FORECAST_DAYS_MAX:
        raise ValueError(f"days must be 1..{FORECAST_DAYS_MAX}, got {days}")
    today = local_today(owner=owner, now=now)
    return (
        Contact.objects.filter(
            _bounded_ranges(
                owner=owner, today=today, offsets=(0, days), first=max(limit, 1)
            )
        )
        .annotate(**overdue_annotations(owner=owner, today=today))
        .annotate(
            days_until_overdue=F("threshold_days") - F("days_since_interaction") + 1
        )
        .order_by("days_until_overdue", "priority_rank", *_name_then_id())[:limit]
    )


# --- list, ids -----------------------------------------------------------------


def contacts_filtered(
    *, owner: User, filters: Mapping[str, Any] | None, now: dt.datetime
) -> QuerySet[Contact]:
    """Return the owner's contacts matching ``filters`` (spec §4.1), unordered.

    Raises a 400 ValidationError naming each parameter that cannot be read.
    """
    return _contacts_matching(
        Contact.objects.filter(owner=owner), owner=owner, filters=filters, now=now
    )


def _contacts_matching(
    queryset: QuerySet[Contact],
    *,
    owner: User,
    filters: Mapping[str, Any] | None,
    now: dt.datetime,
) -> QuerySet[Contact]:
    filterset = ContactFilter(
        data=filters or {},
        queryset=queryset,
        owner=owner,
        now=now,
    )
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs


def contacts_order(
    queryset: QuerySet[Contact], *, owner: User, sort: str, now: dt.datetime
) -> QuerySet[Contact]:
    """Order ``queryset`` by ``sort``, NULLs last, with id as the last key.

    The final id makes every order total, so walking the pages never repeats
    or skips a contact when values tie.
    """
    today = local_today(owner=owner, now=now)
    if sort == "score":
        keys = ["-relationship_score", "-created_at"]
    elif sort == "created":
        keys = ["-created_at"]
    elif sort == "interaction":
        keys = [F("last_interaction_at").desc(nulls_last=True)]
    elif sort == "activity":
        keys = ["-interaction_count", "-created_at"]
    elif sort == "company":
        keys = [Lower("company").asc(nulls_last=True), "company", "-created_at"]
    elif sort == "birthday":
        queryset = queryset.annotate(
            birthday_days_until=birthday_days_until(
                today=today, leap_day_birthdays_on=owner.leap_day_birthdays_on
            )
        )
        keys = [F("birthday_days_until").asc(nulls_last=True), _name()]
    elif sort == "overdue":
        queryset = queryset.annotate(**overdue_annotations(owner=owner, today=today))
        keys = [F("days_overdue").desc(nulls_last=True), "priority_rank", _name()]
    else:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    return queryset.order_by(*keys, "id")


def contacts_list(
    *,
    owner: User,
    filters: Mapping[str, Any] | None = None,
    sort: str = DEFAULT_SORT,
    now: dt.datetime,
) -> QuerySet[Contact]:
    """Return the owner's contacts, filtered (spec §4.1) and sorted."""
    queryset = contacts_filtered(owner=owner, filters=filters, now=now)
    return contacts_order(queryset, owner=owner, sort=sort, now=now)


def _overdue_order_first_rows(
    queryset: QuerySet[Contact], *, owner: User, first: int
) -> QuerySet[Contact]:
    """Return ``owner``'s rows of ``queryset`` narrowed to a superset of
    their ``first`` rows in the sort=overdue order (the order itself is
    left to ``contacts_order``).

    Rows with a days_overdue are cut per priority as /overdue does; the
    rest (never contacted, or a priority without a threshold) sort after
    all of them, so they are read only when fewer than ``first`` rows
    have one.
    """
    priorities = list(owner.priority_thresholds)
    ranked = queryset.filter(
        owner=owner, priority_level__in=priorities, last_interaction_at__isnull=False
    )
    # The owner when the page reaches past the ranked rows, else NULL: as
    # the owner of the tail's ranges it empties them in the index itself.
    tail_owner = Case(
        When(
            ~Exists(ranked.order_by().values("pk")[first - 1 : first]),
            then=Value(owner.pk),
        ),
        default=None,
        output_field=UUIDField(),
    )
    # Every term is a range of the (owner, priority, last_interaction_at)
    # index, so the OR is a union of index ranges, not a scan; SQLite
    # needs the owner inside each term for that.
    kept = Q(pk__in=[])
    for priority in priorities:
        counted = ranked.filter(priority_level=priority)
        kept |= Q(
            owner=owner,
            priority_level=priority,
            last_interaction_at__gte=_EARLIEST,
            last_interaction_at__lt=_first_rows_bound(
                counted, cutoff=None, first=first
            ),
        )
        kept |= Q(
            owner_id=tail_owner,
            priority_level=priority,
            last_interaction_at__isnull=True,
        )
    for priority in _PRIORITY_VALUES:
        if priority not in priorities:
            kept |= Q(owner_id=tail_owner, priority_level=priority)
    return queryset.filter(kept)


def contacts_list_page(
    *,
    owner: User,
    filters: Mapping[str, Any] | None = None,
    sort: str = DEFAULT_SORT,
    now: dt.datetime,
    offset: int,
    size: int,
) -> QuerySet[Contact]:
    """Return rows ``offset`` to ``offset + size`` of ``contacts_list``.

    For sort=overdue the statement reads about offset + size rows per
    priority instead of every contact; the rows are the same.
    """
    if sort == "overdue" and size > 0:
        # Owner-scoped inside each index range only: with the owner also
        # outside, SQLite's planner scans all the owner's contacts instead.
        queryset = _overdue_order_first_rows(
            _contacts_matching(
                Contact.objects.all(), owner=owner, filters=filters, now=now
            ),
            owner=owner,
            first=offset + size,
        )
    else:
        queryset = contacts_filtered(owner=owner, filters=filters, now=now)
    return contacts_order(queryset, owner=owner, sort=sort, now=now)[
        offset : offset + size
    ]


def contact_ids(
    *, owner: User, filters: Mapping[str, Any] | None = None, now: dt.datetime
) -> QuerySet:
    """Return the ids of every contact the list would show (unordered)."""
    return contacts_filtered(owner=owner, filters=filters, now=now).values_list(
        "id", flat=True
    )


# --- stats, tags, activity -------------------------------------------------------


def contacts_stats(*, owner: User, now: dt.datetime) -> dict[str, int]:
    """Return score tiers of active contacts and last two weeks' interactions.

    Two aggregate queries. Interactions count over all the owner's contacts
    (archived included, as in the original) but, as in scoring, bio-change
    events and future-dated rows (a meeting next week) are left out.
    """
    tiers = (
        Contact.objects.filter(owner=owner)
        .exclude(priority_level=PRIORITY_ARCHIVED)
        .aggregate(
            total=Count("pk"),
            **{name: Count("pk", filter=q) for name, q in SCORE_TIERS.items()},
        )
    )
    week_ago = now - dt.timedelta(days=7)
    last_week = Q(occurred_at__lt=week_ago)
    weeks = (
        Interaction.objects.filter(
            owner=owner,
            occurred_at__gte=now - dt.timedelta(days=14),
            occurred_at__lte=now,
        )
        .exclude(direction="event")
        .aggregate(
            interactions_this_week=Count("pk", filter=Q(occurred_at__gte=week_ago)),
            interactions_last_week=Count("pk", filter=last_week),
            active_last_week=Count("contact_id", filter=last_week, distinct=True),
        )
    )
    return {**tiers, **weeks}


def contact_tags(*, owner: User) -> list[str]:
    """Return the owner's distinct tags (archived contacts too), by code point."""
    names = (
        ContactTag.objects.filter(owner=owner)
        .order_by()
        .values_list("name", flat=True)
        .distinct()
    )
    # Sorted here: PostgreSQL's collation would not order by code point.
    return sorted(names)


def contact_monthly_trend(
    *, owner: User, contact: Contact, now: dt.datetime, months: int = TREND_MONTHS
) -> list[dict[str, Any]]:
    """Return interactions per local calendar month, this month and the ones before.

    One grouped query; months without interactions count 0. Events and
    future-dated rows are left out, as in scoring.
    """
    tz = owner.tzinfo
    local_now = now.astimezone(tz)
    keys: list[tuple[int, int]] = []
    year, month = local_now.year, local_now.month
    for _ in range(months):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    start = dt.datetime(keys[0][0], keys[0][1], 1, tzinfo=tz)

    rows = (
        Interaction.objects.filter(
            contact=contact, occurred_at__gte=start, occurred_at__lte=now
        )
        .exclude(direction="event")
        .annotate(month=TruncMonth("occurred_at", tzinfo=tz))
        .order_by()
        .values("month")
        .annotate(count=Count("pk"))
    )
    counts = {(row["month"].year, row["month"].month): row["count"] for row in rows}
    return [
        {"month": f"{y:04d}-{m:02d}", "count": counts.get((y, m), 0)} for y, m in keys
    ]


def contact_activity(
    *, owner: User, contact: Contact, now: dt.datetime
) -> dict[str, Any]:
    """Return a contact's score breakdown, interaction stats and monthly trend."""
    breakdown = contact_score_breakdown(contact, now=now)
    inputs = breakdown.inputs
    return {
        "score": breakdown.total,
        "dimensions": breakdown.dimensions(),
        "stats": {
            "inbound_365d": inputs.inbound,
            "outbound_365d": inputs.outbound,
            "count_30d": inputs.c30,
            # Everything in the last 90 days; the scoring window c90 alone
            # is only the part older than 30 days.
            "count_90d": inputs.c30 + inputs.c90,
            "platforms": contact_platforms(contact, now=now),
            "interaction_count": inputs.lifetime_count,
            "first_interaction_at": inputs.first_at,
        },
        "monthly_trend": contact_monthly_trend(owner=owner, contact=contact, now=now),
    }
