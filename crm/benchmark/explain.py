"""Show the plans of the birthdays, overdue and push-matching queries.

Each job's SELECT statements are captured as the product sends them (SQL
and parameters, through an execute wrapper) and explained on the same
connection: ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY
PLAN`` on SQLite. A query counts as indexed when its plan reads the
contacts table through one of our ``contact_owner_*`` indexes *on more
than the owner*: a search on ``owner_id`` alone walks every contact of the
owner, which is a full scan in all but name.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from contacts.models import User
from contacts.selectors import (
    contacts_overdue,
    contacts_upcoming_birthdays,
    local_today,
)
from linkedin.matching import (
    contacts_for_push,
    interaction_keys_existing,
    message_dedup_key,
    push_keys,
)
from linkedin.serializers import push_payload_from_data

logger = logging.getLogger(__name__)

INDEX_PREFIX = "contact_owner_"
_PG_INDEX = re.compile(
    r"(Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
)
_SQLITE_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
_PG_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")
# A contacts index searched on the owner alone: every row of the owner.
_SQLITE_OWNER_WIDE = re.compile(
    r"SEARCH contacts_contact USING (?:COVERING )?INDEX (\w+) \(owner_id=\?\)$"
)
_PG_OWNER_WIDE = re.compile(r"Index Cond: \(owner_id = '[^']*'::\w+\)$")


@dataclass
class Plan:
    job: str
    sql: str
    lines: list[str]
    indexes: list[str] = field(default_factory=list)
    full_scans: list[str] = field(default_factory=list)
    owner_wide: bool = False

    @property
    def uses_contact_index(self) -> bool:
        """Tell whether an owner index narrows the rows beyond the owner."""
        return not self.owner_wide and any(
            name.startswith(INDEX_PREFIX) for name in self.indexes
        )

    def as_dict(self) -> dict:
        return {
            "job": self.job,
            "sql": self.sql,
            "plan": self.lines,
            "indexes": self.indexes,
            "full_scans": self.full_scans,
            "owner_wide_scan": self.owner_wide,
            "uses_contact_index": self.uses_contact_index,
        }


def _captured_selects(fn: Callable[[], object]) -> list[tuple[str, tuple]]:
    captured: list[tuple[str, tuple]] = []

    def wrapper(execute, sql, params, many, context):
        # A UNION of sliced parts comes wrapped: "(SELECT ...) UNION (...)".
        if sql.lstrip(" (").upper().startswith(("SELECT", "WITH")):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return captured


def explain_statement(job: str, sql: str, params) -> Plan:
    """Explain one statement and pick out the indexes and full scans it uses."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
            indexes = [m.group(2) for line in lines for m in _PG_INDEX.finditer(line)]
            scans = [m.group(1) for line in lines for m in _PG_SEQ_SCAN.finditer(line)]
            owner_wide = any(_PG_OWNER_WIDE.search(line.strip()) for line in lines)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            lines = [row[-1] for row in cursor.fetchall()]
            indexes = [
                m.group(1) for line in lines for m in _SQLITE_INDEX.finditer(line)
            ]
            scans = [m.group(1) for line in lines if (m := _SQLITE_SCAN.match(line))]
            owner_wide = any(_SQLITE_OWNER_WIDE.search(line) for line in lines)
    return Plan(
        job=job,
        sql=sql,
        lines=lines,
        indexes=list(dict.fromkeys(indexes)),
        full_scans=list(dict.fromkeys(scans)),
        owner_wide=owner_wide,
    )


def explain_jobs(*, owner: User, now: dt.datetime, push_body: dict) -> list[Plan]:
    """Return the plan of every SELECT of the birthdays, overdue and push lookups."""
    today = local_today(owner=owner, now=now)
    payload = push_payload_from_data(push_body)

    def push_lookups() -> None:
        interaction_keys_existing(
            owner=owner, keys=[message_dedup_key(m) for m in payload.messages]
        )
        contacts_for_push(
            owner=owner,
            keys=push_keys(profiles=payload.profiles, messages=payload.messages),
            backfill_limit=10 + len(payload.profiles) + len(payload.messages),
        )

    jobs = {
        "birthdays": lambda: list(
            contacts_upcoming_birthdays(owner=owner, today=today, days=7, limit=10)
        ),
        "overdue": lambda: list(contacts_overdue(owner=owner, now=now, limit=10)),
        "push matching": push_lookups,
    }
    plans = []
    for job, fn in jobs.items():
        for sql, params in _captured_selects(fn):
            plans.append(explain_statement(job, sql, params))
    return plans
