"""Time each benchmark job's paths side by side and check they agree.

A job runs its paths in one process on the same data: ``before`` (the
original's algorithm, ``crm.benchmark.before``), ``ours`` (the product's
selector or service), ``ours-api`` (the product's endpoint through
``django.test.Client`` with a token), ``ours-sql`` (the selector's own
statement, compiled once and run raw: its database cost without Django's
per-call query building) and, where one exists, ``floor`` (hand-written
SQL for the same answer). Every path returns an
*answer* in one shape; each is compared with the before path's, and with
the benchmark user's own contact ids (anything else is a leak from the
other user).

Paths that write (rescoring, the push) run each repeat inside a
transaction that is rolled back, so every repeat starts from the same
state and does the same writes. The statements counted leave out the
SAVEPOINT statements that this outer transaction turns the product's own
``atomic()`` blocks into: a real request runs those as BEGIN/COMMIT,
which are not statements.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from contacts.birthdays import Birthday
from contacts.models import PRIORITY_ARCHIVED, Contact, Interaction, User
from contacts.scoring import (
    ScoreInputs,
    contacts_rescore,
    contacts_rescore_ids,
    nightly_rescore_start,
    score_aggregates,
    score_breakdown,
)
from contacts.selectors import (
    contacts_list,
    contacts_list_page,
    contacts_overdue,
    contacts_upcoming_birthdays,
    local_today,
)
from contacts.serializers import ContactSerializer
from crm.benchmark import before
from crm.querycount import count_queries
from syncjobs.models import SyncRun
from syncjobs.services import rescore_all

logger = logging.getLogger(__name__)

JOBS = (
    "rescore-sync",
    "rescore-full",
    "birthdays",
    "overdue",
    "list-birthday",
    "list-overdue",
    "push",
)
# The statement budgets for our side, per request or run.
QUERY_BUDGETS = {
    "rescore-sync": 15,
    "birthdays": 4,
    "overdue": 4,
    "list-birthday": 4,
    "list-overdue": 4,
    "push": 12,
}
SYNC_TOUCHED_EVERY = 10
# A first run faster than this is a warm-up (imports, caches) and is not kept.
WARMUP_UNDER_S = 0.5
PAGE_SIZE = 50
BIRTHDAY_DAYS = 7
LIMIT = 10
PUSH_PROFILES = 50
PUSH_MESSAGES = 500
PUSH_URL = "/api/v1/linkedin/push"
LIST_URL = "/api/v1/contacts"
_SAVEPOINT_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@dataclass
class PathRun:
    """One path of one job at one size: its timings and its answer."""

    job: str
    size: int
    path: str
    label: str
    times: list[float] = field(default_factory=list)
    queries: int = 0
    header_queries: int | None = None
    rows: int = 0
    answer: Any = None
    same: bool | None = None
    leak_free: bool | None = None
    note: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else float("nan")

    def as_dict(self) -> dict:
        times = sorted(self.times)
        quartiles = (
            statistics.quantiles(times, n=4, method="inclusive")
            if len(times) >= 2
            else [times[0]] * 3
        )
        return {
            "job": self.job,
            "size": self.size,
            "path": self.path,
            "label": self.label,
            "repeats": len(times),
            "times_ms": [round(t * 1000, 3) for t in self.times],
            "median_ms": round(self.median_ms, 3),
            "min_ms": round(times[0] * 1000, 3),
            "max_ms": round(times[-1] * 1000, 3),
            "q1_ms": round(quartiles[0] * 1000, 3),
            "q3_ms": round(quartiles[2] * 1000, 3),
            "queries": self.queries,
            "header_queries": self.header_queries,
            "rows": self.rows,
            "same_result": self.same,
            "leak_free": self.leak_free,
            "note": self.note,
        }


@dataclass
class JobContext:
    owner: User
    other: User
    size: int
    now: dt.datetime
    repeat: int
    budget_s: float
    token: str
    owner_ids: frozenset

    def client(self) -> Client:
        # 127.0.0.1 is an allowed host; the test client's default is not.
        return Client(SERVER_NAME="127.0.0.1", HTTP_AUTHORIZATION=f"Token {self.token}")


def job_context(
    *, owner: User, other: User, size: int, repeat: int, budget_s: float
) -> JobContext:
    token, _ = Token.objects.get_or_create(user=owner)
    return JobContext(
        owner=owner,
        other=other,
        size=size,
        now=timezone.now(),
        repeat=repeat,
        budget_s=budget_s,
        token=token.key,
        owner_ids=frozenset(
            Contact.objects.filter(owner=owner).values_list("id", flat=True)
        ),
    )


# --- measuring ---------------------------------------------------------------


class _SavepointCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(_SAVEPOINT_PREFIXES):
            self.count += 1
        return execute(sql, params, many, context)


def measure(
    run: PathRun,
    fn: Callable[[], Any],
    *,
    ctx: JobContext,
    rollback: bool = False,
    prepare: Callable[[], None] | None = None,
    inspect: Callable[[Any], Any] | None = None,
) -> PathRun:
    """Time ``fn`` ``ctx.repeat`` times (fewer once ``ctx.budget_s`` is spent).

    ``prepare`` runs before each repeat, untimed, inside the rolled-back
    transaction when ``rollback``. ``inspect`` turns the first kept
    repeat's return value into the path's answer, also inside it (so it
    sees that repeat's writes). A fast first run is a discarded warm-up.
    """
    spent = 0.0
    first = True
    while len(run.times) < ctx.repeat:
        with transaction.atomic() if rollback else nullcontext():
            if prepare is not None:
                prepare()
            savepoints = _SavepointCounter()
            with count_queries() as counter, connection.execute_wrapper(savepoints):
                started = time.perf_counter()
                value = fn()
                elapsed = time.perf_counter() - started
            warmup = first and elapsed < WARMUP_UNDER_S
            if not warmup and not run.times:
                run.queries = counter.count - savepoints.count
                run.answer = inspect(value) if inspect else value
                header = getattr(value, "headers", {}).get("X-Query-Count")
                if header is not None:
                    run.header_queries = int(header) - savepoints.count
            if rollback:
                transaction.set_rollback(True)
        first = False
        if warmup:
            continue
        run.times.append(elapsed)
        spent += elapsed
        if spent > ctx.budget_s:
            run.note = (run.note + f" stopped after {len(run.times)} repeats").strip()
            break
    return run


def _check(
    runs: list[PathRun], ctx: JobContext, ids: Callable[[Any], list]
) -> list[PathRun]:
    reference = next((r.answer for r in runs if r.path == "before"), None)
    for run in runs:
        run.same = run.answer == reference
        run.leak_free = all(pk in ctx.owner_ids for pk in ids(run.answer))
    return runs


def _json(response) -> Any:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request['PATH_INFO']} answered {response.status_code}: "
            f"{response.content[:500]!r}"
        )
    return json.loads(response.content)


# --- rescoring ---------------------------------------------------------------


def _stored_scores(owner: User) -> dict:
    return {
        pk: (score, count)
        for pk, score, count in Contact.objects.filter(owner=owner).values_list(
            "id", "relationship_score", "interaction_count"
        )
    }


def _rescore_setup(ctx: JobContext) -> None:
    """Make every stored score exact at ``ctx.now`` (committed, untimed)."""
    result = contacts_rescore(
        contacts=Contact.objects.filter(owner=ctx.owner), now=ctx.now
    )
    logger.info("scores refreshed before rescoring", extra={"changed": result.changed})


_SCORE_COLUMNS = ("relationship_score", "interaction_count", "last_interaction_at")
_INPUT_NAMES = tuple(ScoreInputs.__dataclass_fields__)
FLOOR_UPDATE_BATCH = 2000


def _update_scores_sql(rows: int) -> str:
    """Return one UPDATE of score, count and last interaction from a VALUES list."""
    table = connection.ops.quote_name(Contact._meta.db_table)
    if connection.vendor == "postgresql":
        values = ", ".join(
            ["(%s::uuid, %s::integer, %s::integer, %s::timestamptz)"] * rows
        )
        return (
            f"UPDATE {table} AS c SET relationship_score = v.score, "
            "interaction_count = v.cnt, last_interaction_at = v.last, updated_at = %s "
            f"FROM (VALUES {values}) AS v(id, score, cnt, last) WHERE c.id = v.id"
        )
    values = ", ".join(["(%s, %s, %s, %s)"] * rows)
    return (
        f"UPDATE {table} SET relationship_score = v.column2, "
        "interaction_count = v.column3, last_interaction_at = v.column4, "
        f"updated_at = %s FROM (VALUES {values}) AS v WHERE {table}.id = v.column1"
    )


def rescore_floor(
    *, owner: User, now: dt.datetime, contact_ids: list | None = None
) -> int:
    """Rescore as cheaply as SQL allows; return the contacts examined.

    The floor of both rescoring jobs: the aggregates of ``contacts_rescore``
    grouped by the contact's id alone (compiled by Django, run raw), the
    same arithmetic, and the changed rows written by a hand-written
    ``UPDATE ... FROM (VALUES ...)`` per 2,000 rows instead of
    ``bulk_update``'s CASE per column and row.
    """
    contacts = Contact.objects.filter(owner=owner)
    if contact_ids is not None:
        contacts = contacts.filter(pk__in=contact_ids)
    # values() before annotate(): GROUP BY these four columns only. After
    # it, SQLite (which cannot group by the primary key alone) groups by
    # every column of the contact, three times slower at 10,000 contacts.
    query = (
        contacts.order_by()
        .values("pk", *_SCORE_COLUMNS)
        .annotate(**score_aggregates(now))
        .values("pk", *_SCORE_COLUMNS, *(f"s_{name}" for name in _INPUT_NAMES))
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        fetched = cursor.fetchall()
    changed = []
    for values in fetched:
        row = dict(zip(names, values, strict=True))
        for name in (
            "last_interaction_at",
            "s_last_inbound",
            "s_last_any",
            "s_first_at",
        ):
            row[name] = before.as_aware(row[name])
        inputs = ScoreInputs(**{name: row[f"s_{name}"] for name in _INPUT_NAMES})
        new = (
            score_breakdown(inputs, now).total,
            inputs.lifetime_count,
            inputs.last_any,
        )
        if tuple(row[name] for name in _SCORE_COLUMNS) != new:
            changed.append((row["pk"], *new))
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(changed), FLOOR_UPDATE_BATCH):
            batch = changed[start : start + FLOOR_UPDATE_BATCH]
            params = [adapt(now)]
            for pk, score, count, last in batch:
                params += [pk, score, count, adapt(last) if last else None]
            cursor.execute(_update_scores_sql(len(batch)), params)
    return len(fetched)


def job_rescore_sync(ctx: JobContext) -> list[PathRun]:
    """Rescoring after a sync gave every tenth contact a new e-mail.

    before: the original's Gmail job, per contact over every contact with
    a last interaction. ours: ``contacts_rescore_ids`` on the touched ones.
    """
    _rescore_setup(ctx)
    ids = list(
        Contact.objects.filter(owner=ctx.owner, last_interaction_at__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    touched = ids[::SYNC_TOUCHED_EVERY]
    received = ctx.now - dt.timedelta(hours=1)

    def sync_interactions() -> None:
        Interaction.objects.bulk_create(
            [
                Interaction(
                    id=uuid.UUID(int=pk.int ^ 1),
                    owner=ctx.owner,
                    contact_id=pk,
                    platform="email",
                    direction="inbound",
                    content_preview="new mail",
                    raw_reference_id=f"bench-sync:{pk.hex}",
                    occurred_at=received,
                    created_at=ctx.now,
                )
                for pk in touched
            ],
            batch_size=1000,
        )

    def scores(_value) -> dict:
        return _stored_scores(ctx.owner)

    common = {
        "ctx": ctx,
        "rollback": True,
        "prepare": sync_interactions,
        "inspect": scores,
    }
    runs = [
        measure(
            PathRun("rescore-sync", ctx.size, "before", "per-contact loop (Gmail job)"),
            lambda: before.before_rescore_per_contact(owner=ctx.owner, now=ctx.now),
            **common,
        ),
        measure(
            PathRun(
                "rescore-sync",
                ctx.size,
                "ours",
                f"contacts_rescore_ids ({len(touched)})",
            ),
            lambda: contacts_rescore_ids(
                owner_id=ctx.owner.pk, contact_ids=touched, now=ctx.now
            ),
            **common,
        ),
        measure(
            PathRun(
                "rescore-sync", ctx.size, "floor", "aggregate + UPDATE FROM VALUES"
            ),
            lambda: rescore_floor(owner=ctx.owner, now=ctx.now, contact_ids=touched),
            **common,
        ),
    ]
    runs[0].rows = len(ids)
    runs[1].rows = runs[2].rows = len(touched)
    return _check(runs, ctx, lambda answer: list(answer))


NIGHTLY_GAP = dt.timedelta(days=1)


def _scored_as_of_yesterday(ctx: JobContext) -> list:
    """Leave the scores as the product has them before its nightly run.

    The previous nightly run was ``NIGHTLY_GAP`` ago: every contact scored
    then, and the user's ``scores_as_of`` says so; the contacts the day's
    syncs brought interactions for were rescored by those syncs (here all
    at ``ctx.now``). Committed and untimed. Return the ids the nightly run
    will rescore, for the floor.
    """
    yesterday = ctx.now - NIGHTLY_GAP
    owned = Contact.objects.filter(owner=ctx.owner)
    contacts_rescore(contacts=owned, now=yesterday)
    arrived = Interaction.objects.filter(
        owner=ctx.owner, occurred_at__gt=yesterday, occurred_at__lte=ctx.now
    ).values("contact_id")
    contacts_rescore(contacts=owned.filter(pk__in=arrived), now=ctx.now)
    User.objects.filter(pk=ctx.owner.pk).update(scores_as_of=yesterday)
    ctx.owner.refresh_from_db(fields=["scores_as_of"])
    with transaction.atomic():
        due = nightly_rescore_start(owner=ctx.owner, now=ctx.now).contacts
        ids = list(due.values_list("id", flat=True))
        transaction.set_rollback(True)
    return ids


def job_rescore_full(ctx: JobContext) -> list[PathRun]:
    """The nightly rescore, a day after the previous one.

    before: the original's ``batch_update_scores`` (one aggregate over
    every contact, one UPDATE per contact). ours: the product's nightly
    run, ``rescore_all`` for the owner: only the contacts an interaction's
    age moved across a boundary of the formula since yesterday. floor:
    the hand-written aggregate and UPDATE for those same contacts. Both
    must leave every stored score as before leaves it.
    """
    due = _scored_as_of_yesterday(ctx)

    def scores(_value) -> dict:
        return _stored_scores(ctx.owner)

    def nightly() -> SyncRun:
        (run,) = rescore_all(owner=ctx.owner, now=ctx.now)
        if run.status != "success":
            raise RuntimeError(f"the nightly rescore failed: {run.details}")
        return run

    common = {"ctx": ctx, "rollback": True, "inspect": scores}
    before_run = measure(
        PathRun("rescore-full", ctx.size, "before", "batch_update_scores"),
        lambda: before.before_batch_update_scores(owner=ctx.owner, now=ctx.now),
        **common,
    )
    ours_run = measure(
        PathRun(
            "rescore-full",
            ctx.size,
            "ours",
            f"rescore_all, nightly ({len(due):,} rescored)",
        ),
        nightly,
        **common,
    )
    floor_run = measure(
        PathRun(
            "rescore-full",
            ctx.size,
            "floor",
            f"aggregate + UPDATE FROM VALUES ({len(due):,})",
        ),
        lambda: rescore_floor(owner=ctx.owner, now=ctx.now, contact_ids=due),
        **common,
    )
    # Leave every score exact at ctx.now for the jobs after this one.
    with transaction.atomic():
        contacts_rescore(
            contacts=nightly_rescore_start(owner=ctx.owner, now=ctx.now).contacts,
            now=ctx.now,
        )
    ctx.owner.refresh_from_db(fields=["scores_as_of"])
    runs = [before_run, ours_run, floor_run]
    before_run.rows = len(ctx.owner_ids)
    ours_run.rows = floor_run.rows = len(due)
    return _check(runs, ctx, lambda answer: list(answer))


# --- birthdays -----------------------------------------------------------------


def _db_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _owner_param(owner: User):
    return Contact._meta.get_field("owner").get_db_prep_value(owner.pk, connection)


def birthdays_floor_sql(
    *, owner: User, today: dt.date, days: int, limit: int
) -> tuple[str, list]:
    """Return hand-written SQL for the birthdays answer: range scans, CASE, LIMIT."""
    window = before.birthday_window(
        today=today, days=days, leap_day_birthdays_on=owner.leap_day_birthdays_on
    )
    cases, ranges, params_case, params_where = [], [], [], []
    for key, offset in window.items():
        month, day = (int(part) for part in key.split("-"))
        cases.append("WHEN birthday_month = %s AND birthday_day = %s THEN %s")
        params_case += [month, day, offset]
    by_month: dict[int, list[int]] = {}
    for key in window:
        month, day = (int(part) for part in key.split("-"))
        by_month.setdefault(month, []).append(day)
    for month, month_days in by_month.items():
        ranges.append("(birthday_month = %s AND birthday_day BETWEEN %s AND %s)")
        params_where += [month, min(month_days), max(month_days)]
    table = connection.ops.quote_name(Contact._meta.db_table)
    sql = (
        f"SELECT id, days FROM (SELECT id, full_name, CASE {' '.join(cases)} END "
        f"AS days FROM {table} WHERE owner_id = %s AND priority_level <> %s "
        f"AND ({' OR '.join(ranges)})) AS window_rows WHERE days IS NOT NULL "
        "ORDER BY days, full_name IS NULL, full_name, id LIMIT %s"
    )
    return sql, [
        *params_case,
        _owner_param(owner),
        PRIORITY_ARCHIVED,
        *params_where,
        limit,
    ]


def _raw(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(_db_uuid(pk), value) for pk, value in cursor.fetchall()]


def job_birthdays(ctx: JobContext) -> list[PathRun]:
    today = local_today(owner=ctx.owner, now=ctx.now)
    client = ctx.client()
    floor_sql, floor_params = birthdays_floor_sql(
        owner=ctx.owner, today=today, days=BIRTHDAY_DAYS, limit=LIMIT
    )
    ours_sql, ours_params = (
        contacts_upcoming_birthdays(
            owner=ctx.owner, today=today, days=BIRTHDAY_DAYS, limit=LIMIT
        )
        .values_list("id", "birthday_days_until")
        .query.sql_with_params()
    )

    def api_answer(response) -> list:
        return [
            (uuid.UUID(item["id"]), item["days_until_birthday"])
            for item in _json(response)["data"]
        ]

    runs = [
        measure(
            PathRun("birthdays", ctx.size, "before", "load all, match MM-DD in Python"),
            lambda: [
                (c.pk, days)
                for c, days in before.before_upcoming_birthdays(
                    owner=ctx.owner, today=today, days=BIRTHDAY_DAYS, limit=LIMIT
                )
            ],
            ctx=ctx,
        ),
        measure(
            PathRun("birthdays", ctx.size, "ours", "contacts_upcoming_birthdays"),
            lambda: [
                (c.pk, c.birthday_days_until)
                for c in contacts_upcoming_birthdays(
                    owner=ctx.owner, today=today, days=BIRTHDAY_DAYS, limit=LIMIT
                )
            ],
            ctx=ctx,
        ),
        measure(
            PathRun("birthdays", ctx.size, "ours-api", "GET /contacts/birthdays"),
            lambda: client.get(
                f"{LIST_URL}/birthdays", {"days": BIRTHDAY_DAYS, "limit": LIMIT}
            ),
            ctx=ctx,
            inspect=api_answer,
        ),
        measure(
            PathRun("birthdays", ctx.size, "ours-sql", "the selector's SQL, run raw"),
            lambda: _raw(ours_sql, ours_params),
            ctx=ctx,
        ),
        measure(
            PathRun("birthdays", ctx.size, "floor", "SQL on (owner, month, day)"),
            lambda: _raw(floor_sql, floor_params),
            ctx=ctx,
        ),
    ]
    for run in runs:
        run.rows = len(run.answer)
    return _check(runs, ctx, lambda answer: [pk for pk, _ in answer])


# --- overdue -------------------------------------------------------------------


def _days_since_sql(today: dt.date) -> tuple[str, list]:
    """Return SQL for whole calendar days from the (UTC) last interaction to today."""
    if connection.vendor == "postgresql":
        return "(%s::date - (last_interaction_at AT TIME ZONE 'UTC')::date)", [today]
    return "CAST(julianday(%s) - julianday(date(last_interaction_at)) AS INTEGER)", [
        today.isoformat()
    ]


def overdue_floor_sql(*, owner: User, now: dt.datetime, limit: int) -> tuple[str, list]:
    """Return hand-written SQL for the overdue answer: one range per priority.

    Written for an owner in UTC (the benchmark user is). The WHERE is one
    range of (owner, priority, last_interaction_at) per priority, below
    its cut-off (midnight of today - threshold); the threshold and the
    priority's rank are CASEs on the priority. (A UNION ALL of three
    range scans was tried first: PostgreSQL ran it with parallel workers,
    whose start-up made it slower and erratic on two cores.)
    """
    if owner.time_zone != "UTC":
        raise ValueError("the overdue floor is written for owners in UTC")
    today = local_today(owner=owner, now=now)
    days_sql, days_params = _days_since_sql(today)
    table = connection.ops.quote_name(Contact._meta.db_table)
    thresholds = list(owner.priority_thresholds.items())
    threshold_case = " ".join("WHEN %s THEN %s" for _ in thresholds)
    rank_case = " ".join("WHEN %s THEN %s" for _ in thresholds)
    ranges = " OR ".join(
        "(owner_id = %s AND priority_level = %s AND last_interaction_at < %s)"
        for _ in thresholds
    )
    # In the order the placeholders appear: SELECT, WHERE, ORDER BY.
    params: list = [*days_params]
    params += [value for item in thresholds for value in item]
    for priority, threshold in thresholds:
        cutoff = dt.datetime.combine(
            today - dt.timedelta(days=threshold), dt.time.min, dt.UTC
        )
        params += [
            _owner_param(owner),
            priority,
            connection.ops.adapt_datetimefield_value(cutoff),
        ]
    for rank, (priority, _) in enumerate(thresholds):
        params += [priority, rank]
    sql = (
        f"SELECT id, {days_sql} - CASE priority_level {threshold_case} END AS days "
        f"FROM {table} WHERE {ranges} ORDER BY days DESC, "
        f"CASE priority_level {rank_case} END, full_name IS NULL, full_name, id "
        "LIMIT %s"
    )
    return sql, [*params, limit]


def job_overdue(ctx: JobContext) -> list[PathRun]:
    client = ctx.client()
    floor_sql, floor_params = overdue_floor_sql(
        owner=ctx.owner, now=ctx.now, limit=LIMIT
    )
    ours_sql, ours_params = (
        contacts_overdue(owner=ctx.owner, now=ctx.now, limit=LIMIT)
        .values_list("id", "days_overdue")
        .query.sql_with_params()
    )

    def api_answer(response) -> list:
        return [
            (uuid.UUID(item["id"]), item["days_overdue"])
            for item in _json(response)["data"]
        ]

    runs = [
        measure(
            PathRun("overdue", ctx.size, "before", "load all, compute in Python"),
            lambda: [
                (c.pk, days)
                for c, days in before.before_overdue(
                    owner=ctx.owner, now=ctx.now, limit=LIMIT
                )
            ],
            ctx=ctx,
        ),
        measure(
            PathRun("overdue", ctx.size, "ours", "contacts_overdue"),
            lambda: [
                (c.pk, c.days_overdue)
                for c in contacts_overdue(owner=ctx.owner, now=ctx.now, limit=LIMIT)
            ],
            ctx=ctx,
        ),
        measure(
            PathRun("overdue", ctx.size, "ours-api", "GET /contacts/overdue"),
            lambda: client.get(f"{LIST_URL}/overdue", {"limit": LIMIT}),
            ctx=ctx,
            inspect=api_answer,
        ),
        measure(
            PathRun("overdue", ctx.size, "ours-sql", "the selector's SQL, run raw"),
            lambda: _raw(ours_sql, ours_params),
            ctx=ctx,
        ),
        measure(
            PathRun("overdue", ctx.size, "floor", "SQL, a range per priority"),
            lambda: _raw(floor_sql, floor_params),
            ctx=ctx,
        ),
    ]
    for run in runs:
        run.rows = len(run.answer)
    return _check(runs, ctx, lambda answer: [pk for pk, _ in answer])


# --- the contact list ------------------------------------------------------------


def _list_key(item: dict, *, sort: str, owner: User, today: dt.date):
    """Return the value a list page is ordered by, from a serialized contact."""
    if sort == "birthday":
        if not item["birthday"]:
            return None
        value = Birthday.from_api(item["birthday"])
        window = before.birthday_window(
            today=today, days=366, leap_day_birthdays_on=owner.leap_day_birthdays_on
        )
        return window.get(f"{value.month:02d}-{value.day:02d}")
    if not item["last_interaction_at"] or item["priority_level"] == PRIORITY_ARCHIVED:
        return None
    last = dt.datetime.fromisoformat(item["last_interaction_at"].replace("Z", "+00:00"))
    return before.overdue_days(
        last_interaction_at=last,
        priority=item["priority_level"],
        today=today,
        owner=owner,
    )


def list_page_answer(
    items: list[dict], total: int, *, sort: str, owner: User, today: dt.date
) -> dict:
    """Return what two list pages must share: total, sort keys, ids per key.

    Without a tie-break the original may order equal keys any way, so ids
    are compared as a set per key, and the last key's group (which the
    page may cut anywhere) is left out.
    """
    keys = [_list_key(item, sort=sort, owner=owner, today=today) for item in items]
    groups: dict[Any, set] = {}
    for key, item in zip(keys, items, strict=True):
        groups.setdefault(key, set()).add(uuid.UUID(item["id"]))
    if keys:
        groups.pop(keys[-1], None)
    return {"total": total, "keys": keys, "groups": groups}


def _job_list(ctx: JobContext, sort: str) -> list[PathRun]:
    job = f"list-{sort}"
    today = local_today(owner=ctx.owner, now=ctx.now)
    client = ctx.client()
    params = {"sort": sort, "page": 1, "page_size": PAGE_SIZE}

    def before_answer(value) -> dict:
        items, total = value
        return list_page_answer(
            list(items), total, sort=sort, owner=ctx.owner, today=today
        )

    def api_answer(response) -> dict:
        body = _json(response)
        return list_page_answer(
            body["data"], body["meta"]["total"], sort=sort, owner=ctx.owner, today=today
        )

    runs = [
        measure(
            PathRun(job, ctx.size, "before", "COUNT + ORDER BY, no tie-break"),
            lambda: before.before_contact_list(
                owner=ctx.owner, sort=sort, now=ctx.now, page=1, page_size=PAGE_SIZE
            ),
            ctx=ctx,
            inspect=before_answer,
        ),
        measure(
            PathRun(job, ctx.size, "ours", "contacts_list_page + COUNT + serializer"),
            lambda: _ours_list_page(ctx, sort),
            ctx=ctx,
            inspect=before_answer,
        ),
        measure(
            PathRun(job, ctx.size, "ours-api", f"GET /contacts?sort={sort}"),
            lambda: client.get(LIST_URL, params),
            ctx=ctx,
            inspect=api_answer,
        ),
    ]
    for run in runs:
        run.rows = len(run.answer["keys"])
    return _check(
        runs,
        ctx,
        lambda answer: [pk for ids in answer["groups"].values() for pk in ids],
    )


def _ours_list_page(ctx: JobContext, sort: str) -> tuple[list[dict], int]:
    """Return page 1 and the total as the list endpoint builds them, minus HTTP."""
    rows = list(
        contacts_list_page(
            owner=ctx.owner,
            filters={},
            sort=sort,
            now=ctx.now,
            offset=0,
            size=PAGE_SIZE,
        )
    )
    total = contacts_list(owner=ctx.owner, filters={}, sort=sort, now=ctx.now).count()
    return ContactSerializer(rows, many=True).data, total


def job_list_birthday(ctx: JobContext) -> list[PathRun]:
    return _job_list(ctx, "birthday")


def job_list_overdue(ctx: JobContext) -> list[PathRun]:
    return _job_list(ctx, "overdue")


# --- the LinkedIn push ------------------------------------------------------------


def _urn_id(seed: str) -> str:
    """Return a Voyager-style member id ("ACoAA..."), fixed for ``seed``."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "ACoAA" + "".join(
        c.upper() if int(c, 16) % 2 else c for c in digest[:30] if c.isalnum()
    )


def push_payload(*, owner: User, other: User, now: dt.datetime) -> dict:
    """Return a push body of 50 profiles and 500 messages for ``owner``'s data.

    Profiles: 30 known by profile id, 10 by profile URL only, the rest new.
    Messages: 50 already stored (skipped), 2 each to known contacts by
    profile id, 5 to each new profile, 30 matched by a unique name only
    (with a member URN id), and stubs for unknown senders, five of them
    with profile ids that only the *other* user's contacts have (so a
    cross-owner match would show). No message is sent twice, so the
    original's duplicate-insert bug never fires.
    """
    mine = Contact.objects.filter(owner=owner).order_by("id")
    with_id = list(
        mine.filter(linkedin_profile_id__isnull=False).values_list(
            "linkedin_profile_id", "linkedin_url", "full_name"
        )[:205]
    )
    url_only = list(
        mine.filter(
            linkedin_profile_id__isnull=True, linkedin_url__isnull=False
        ).values_list("linkedin_url", "full_name")[:10]
    )
    unique_named = list(
        mine.filter(
            full_name__contains=" Uniq",
            linkedin_profile_id__isnull=True,
            linkedin_url__isnull=True,
        ).values_list("full_name", flat=True)[:30]
    )
    others = list(
        Contact.objects.filter(owner=other, linkedin_profile_id__isnull=False)
        .order_by("id")
        .values_list("linkedin_profile_id", flat=True)[:5]
    )
    stored = list(
        Interaction.objects.filter(owner=owner, platform="linkedin")
        .order_by("raw_reference_id")
        .values_list("raw_reference_id", flat=True)[:50]
    )

    def profile(profile_id: str, url: str, name: str | None) -> dict:
        return {
            "profile_id": profile_id,
            "profile_url": url,
            "full_name": name or "Nameless Person",
            "headline": "Staff Engineer at Acme",
            "company": "Acme",
            "location": "Lisbon",
            "about": "Builds data pipelines.",
        }

    profiles = [profile(pid, url, name) for pid, url, name in with_id[:30]]
    profiles += [
        profile(url.rstrip("/").rsplit("/", 1)[-1], url, name) for url, name in url_only
    ]
    new_profiles = [
        profile(
            f"newprofile-{k}",
            f"https://www.linkedin.com/in/newprofile-{k}",
            f"Fresh Face{k}",
        )
        for k in range(PUSH_PROFILES - len(profiles))
    ]
    profiles += new_profiles

    senders: list[tuple[str, str]] = []
    for pid, _url, name in with_id[30:]:
        senders += [(pid, name or "")] * 2
    for item in new_profiles:
        senders += [(item["profile_id"], item["full_name"])] * 5
    senders += [(_urn_id(name), name) for name in unique_named]
    senders = senders[: PUSH_MESSAGES - len(stored) - 20]
    stubs = PUSH_MESSAGES - len(stored) - len(senders)
    for k in range(stubs):
        pid = others[k] if k < len(others) else f"stub-person-{k}"
        senders.append((pid, f"Newcomer Stub{_letters(k)}"))

    messages = []
    for k, (conversation, hash_) in enumerate(ref.rsplit(":", 1) for ref in stored):
        messages.append(
            _message(k, now, "someone", "Some One", conversation[9:], hash_)
        )
    for k, (pid, name) in enumerate(senders, start=len(messages)):
        messages.append(_message(k, now, pid, name, f"bench-conv-{k // 5}", f"h{k}"))
    return {"profiles": profiles, "messages": messages}


def _letters(number: int) -> str:
    return "".join(chr(ord("a") + int(d)) for d in f"{number:04d}")


def _message(
    k: int, now: dt.datetime, profile_id: str, name: str, conversation: str, hash_: str
) -> dict:
    at = (now - dt.timedelta(minutes=k)).astimezone(dt.UTC)
    return {
        "profile_id": profile_id,
        "profile_name": name,
        "direction": "outbound" if k % 3 == 0 else "inbound",
        "content_preview": f"Message {k}: shall we catch up next week?",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conversation_id": conversation,
        "content_hash": hash_,
    }


def push_keys_of(payload: dict) -> list[str]:
    """Return the original's dedup key of every message in a push body."""
    return [
        f"linkedin:{m['conversation_id']}:{m.get('content_hash') or m['timestamp']}"
        for m in payload["messages"]
    ]


def push_answer(
    *, owner: User, keys: list[str], counts: dict, owner_ids: frozenset
) -> dict:
    """Return what two pushes must share: counts and which contact got each message.

    ``keys`` are the messages' keys that were not stored before the push.
    A contact that existed before is named by id, a new one by its profile
    id, one of another owner by "LEAK:" and its id. ``contacts_updated`` is
    left out: the original counted every profile item, ours counts the
    contacts whose fields changed.
    """
    rows = Interaction.objects.filter(
        owner=owner, platform="linkedin", raw_reference_id__in=keys
    ).values_list(
        "raw_reference_id",
        "contact_id",
        "contact__owner_id",
        "contact__linkedin_profile_id",
    )
    links = {}
    for key, contact_id, contact_owner, profile_id in rows:
        if contact_owner != owner.pk:
            links[key] = f"LEAK:{contact_id}"
        elif contact_id in owner_ids:
            links[key] = str(contact_id)
        else:
            links[key] = f"new:{profile_id}"
    return {
        "contacts_created": counts["contacts_created"],
        "interactions_created": counts["interactions_created"],
        "interactions_skipped": counts["interactions_skipped"],
        "links": links,
    }


def _push_contact_ids(answer: dict) -> list[uuid.UUID]:
    return [
        uuid.UUID(value.removeprefix("LEAK:"))
        for value in answer["links"].values()
        if not value.startswith("new:")
    ]


def job_push(ctx: JobContext) -> list[PathRun]:
    payload = push_payload(owner=ctx.owner, other=ctx.other, now=ctx.now)
    body = json.dumps(payload)
    client = ctx.client()
    keys = push_keys_of(payload)
    stored = set(
        Interaction.objects.filter(
            owner=ctx.owner, raw_reference_id__in=keys
        ).values_list("raw_reference_id", flat=True)
    )
    fresh = [key for key in keys if key not in stored]

    def prepare() -> None:
        # The push's rate limit counts in the cache; every repeat starts afresh.
        cache.clear()

    def before_answer(outcome) -> dict:
        counts = {
            "contacts_created": outcome.contacts_created,
            "interactions_created": outcome.interactions_created,
            "interactions_skipped": outcome.interactions_skipped,
        }
        answer = push_answer(
            owner=ctx.owner, keys=fresh, counts=counts, owner_ids=ctx.owner_ids
        )
        answer_notes["before"] = outcome.contacts_updated
        return answer

    def api_answer(response) -> dict:
        data = _json(response)["data"]
        answer_notes["ours-api"] = data["contacts_updated"]
        return push_answer(
            owner=ctx.owner, keys=fresh, counts=data, owner_ids=ctx.owner_ids
        )

    answer_notes: dict[str, int] = {}
    runs = [
        measure(
            PathRun(
                "push", ctx.size, "before", "preload all contacts, INSERT per item"
            ),
            lambda: before.before_linkedin_push(
                owner=ctx.owner, payload=payload, now=ctx.now
            ),
            ctx=ctx,
            rollback=True,
            prepare=prepare,
            inspect=before_answer,
        ),
        measure(
            PathRun("push", ctx.size, "ours-api", "POST /linkedin/push"),
            lambda: client.post(PUSH_URL, body, content_type="application/json"),
            ctx=ctx,
            rollback=True,
            prepare=prepare,
            inspect=api_answer,
        ),
    ]
    for run in runs:
        run.rows = len(run.answer["links"]) + run.answer["contacts_created"]
        run.note = f"contacts_updated={answer_notes.get(run.path)} {run.note}".strip()
    return _check(runs, ctx, _push_contact_ids)


JOB_FUNCTIONS: dict[str, Callable[[JobContext], list[PathRun]]] = {
    "rescore-sync": job_rescore_sync,
    "rescore-full": job_rescore_full,
    "birthdays": job_birthdays,
    "overdue": job_overdue,
    "list-birthday": job_list_birthday,
    "list-overdue": job_list_overdue,
    "push": job_push,
}


# --- silk's overhead ----------------------------------------------------------

SILK_MIDDLEWARE = "crm.silk_recorder.middleware.SilkRecorderMiddleware"
QUERY_COUNT_MIDDLEWARE = "crm.querycount.QueryCountHeaderMiddleware"
SILK_TARGET_PERCENT = 25


def _timed_list_request(client: Client, times: list[float]) -> tuple[Any, int]:
    """Time one list request; return the response and the statements it sent.

    Only the status is checked here: the body is checked between batches.
    """
    with count_queries() as counter:
        begin = time.perf_counter()
        response = client.get(LIST_URL, {"page_size": PAGE_SIZE})
        times.append(time.perf_counter() - begin)
    if response.status_code != 200:
        _json(response)
    return response, counter.count


def _overhead(on: float, off: float) -> float:
    return round((on / off - 1) * 100, 1)


class _CollectorPauses:
    """Add up the cyclic garbage collector's pauses per side, while installed.

    A full collection walks the whole seeded heap (tens of milliseconds)
    and lands on whichever side's allocation set it off, so two or three
    of them move a mean by several percent; the result shows them apart.
    """

    def __init__(self) -> None:
        self.side: str | None = None
        self.seconds = {"off": 0.0, "on": 0.0}
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        elif self.side is not None:
            self.seconds[self.side] += time.perf_counter() - self._began

    def __enter__(self) -> _CollectorPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)


def silk_overhead(ctx: JobContext, *, middleware: list[str], rounds: int) -> dict:
    """Return the list endpoint's median and mean time with silk's recorder off and on.

    Requests alternate, off then on, ``rounds`` times, on two clients built
    under each middleware setting. The recorder's timer is off meanwhile,
    so its thread writes only when an on request fills a batch; right after
    that request the benchmark waits until the batch is stored (``flush``)
    and adds the wait to the on side. The mean of the on side thus carries
    the whole cost of storing its requests, whichever thread did the
    writing, and no batch is written during an off request. The garbage
    collector's pauses on each side are reported next to the times; they
    stay in them. The requests recorded are deleted afterwards.
    """
    if not apps.is_installed("silk"):
        return {"skipped": "silk is not installed (SILK_ENABLED is off)"}
    from silk.models import Request as SilkRequest

    from crm.silk_recorder.writer import recording_writer

    writer = recording_writer()
    off = [m for m in middleware if m != SILK_MIDDLEWARE]
    on = list(off)
    on.insert(on.index(QUERY_COUNT_MIDDLEWARE), SILK_MIDDLEWARE)
    batch = settings.SILK_RECORDER_BATCH_SIZE
    started = timezone.now()
    clients = {}
    times: dict[str, list[float]] = {"off": [], "on": []}
    queries: dict[str, int] = {}
    flush_seconds = 0.0
    try:
        with override_settings(SILK_RECORDER_FLUSH_SECONDS=365 * 24 * 3600):
            for name, stack in (("off", off), ("on", on)):
                with override_settings(MIDDLEWARE=stack):
                    clients[name] = ctx.client()
                    _json(clients[name].get(LIST_URL, {"page_size": PAGE_SIZE}))
            writer.flush()
            stats_before = writer.stats.copy()
            with _CollectorPauses() as pauses:
                for done in range(1, rounds + 1):
                    for name in ("off", "on"):
                        pauses.side = name
                        last, queries[name] = _timed_list_request(
                            clients[name], times[name]
                        )
                    if done % batch == 0 or done == rounds:
                        begin = time.perf_counter()
                        writer.flush()
                        flush_seconds += time.perf_counter() - begin
                        pauses.side = None
                        _json(last)
                    pauses.side = None
            stats = writer.stats.copy()
    finally:
        writer.flush()
        SilkRequest.objects.filter(path=LIST_URL, start_time__gte=started).delete()
    written = stats.written - stats_before.written
    median_off = statistics.median(times["off"]) * 1000
    median_on = statistics.median(times["on"]) * 1000
    mean_off = statistics.fmean(times["off"]) * 1000
    mean_on = (sum(times["on"]) + flush_seconds) / len(times["on"]) * 1000
    overhead = _overhead(median_on, median_off)
    return {
        "size": ctx.size,
        "endpoint": f"GET {LIST_URL}?page_size={PAGE_SIZE}",
        "rounds": rounds,
        "batch": batch,
        "writer": ("synchronous" if settings.SILK_RECORDER_SYNCHRONOUS else "thread"),
        "median_off_ms": round(median_off, 3),
        "median_on_ms": round(median_on, 3),
        "overhead_percent": overhead,
        "mean_off_ms": round(mean_off, 3),
        "mean_on_ms": round(mean_on, 3),
        "mean_overhead_percent": _overhead(mean_on, mean_off),
        "flush_ms_per_request": round(flush_seconds / rounds * 1000, 3),
        "gc_pause_ms_per_request": {
            side: round(seconds / rounds * 1000, 3)
            for side, seconds in pauses.seconds.items()
        },
        "queries_off": queries.get("off"),
        "queries_on": queries.get("on"),
        "written": written,
        "writer_statements_per_request": (
            round((stats.statements - stats_before.statements) / written, 2)
            if written
            else None
        ),
        "dropped": (stats.dropped - stats_before.dropped)
        + (stats.failed - stats_before.failed),
        "target_met": overhead < SILK_TARGET_PERCENT,
    }
