"""Write the load test's plan for locust, and turn its request log into figures.

The plan is a JSON file the locustfile reads (it cannot import Django):
the benchmark user's token, the rate and the mix, and LinkedIn profiles and
stored message keys of the seeded dataset for the pushes to name. The
request log is the locustfile's CSV of every request (name, status,
milliseconds, start time); ``load_report`` reads it into percentiles per
endpoint and overall, counted exactly rather than in locust's buckets.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rest_framework.authtoken.models import Token

from contacts.models import Contact, Interaction, User

ENDPOINTS = ("list", "birthdays", "overdue", "push")
# Four list pages for every two of each of the others: the list is what
# the web app opens most.
WEIGHTS = {"list": 4, "birthdays": 2, "overdue": 2, "push": 2}
PAGE_SIZE = 20
LIST_PAGES_MAX = 25
PUSH_TARGETS = 500
STORED_MESSAGES = 200


def loadtest_plan(
    *,
    owner: User,
    host: str,
    rate: float,
    users: int,
    run_id: str,
    requests_log: Path,
    weights: dict[str, int] = WEIGHTS,
) -> dict:
    """Return the plan of a run against ``owner``'s seeded data."""
    token, _ = Token.objects.get_or_create(user=owner)
    contacts = Contact.objects.filter(owner=owner)
    targets = list(
        contacts.filter(linkedin_profile_id__isnull=False, full_name__isnull=False)
        .order_by("id")
        .values("linkedin_profile_id", "linkedin_url", "full_name")[:PUSH_TARGETS]
    )
    stored = (
        Interaction.objects.filter(owner=owner, platform="linkedin")
        .order_by("raw_reference_id")
        .values_list("raw_reference_id", flat=True)[:STORED_MESSAGES]
    )
    pages = math.ceil(contacts.exclude(priority_level="archived").count() / PAGE_SIZE)
    return {
        "host": host,
        "token": token.key,
        "rate": rate,
        "users": users,
        "run_id": run_id,
        "requests_log": str(requests_log),
        "weights": weights,
        "list_pages": max(1, min(LIST_PAGES_MAX, pages)),
        "push_targets": [
            {
                "profile_id": row["linkedin_profile_id"],
                "profile_url": row["linkedin_url"] or "",
                "full_name": row["full_name"],
            }
            for row in targets
        ],
        # The original's key is "linkedin:<conversation>:<hash>"; re-sent,
        # these messages must be skipped.
        "stored_messages": [
            dict(zip(("conversation_id", "content_hash"), parts, strict=True))
            for parts in (key[9:].rsplit(":", 1) for key in stored)
            if len(parts) == 2
        ],
    }


def percentile(ordered: list[float], share: float) -> float:
    """Return the nearest-rank percentile (0 < share <= 1) of sorted values."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Figures:
    """What one endpoint (or all of them) did during the run."""

    name: str
    times: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.times)

    @property
    def server_errors(self) -> int:
        """Answers of 500 and above, and requests that got no answer at all."""
        return sum(
            n for status, n in self.statuses.items() if status >= 500 or not status
        )

    @property
    def other_failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if 300 <= status < 500)

    def summary(self) -> dict:
        ordered = sorted(self.times)
        return {
            "name": self.name,
            "requests": self.requests,
            "p50_ms": round(percentile(ordered, 0.50), 1),
            "p95_ms": round(percentile(ordered, 0.95), 1),
            "p99_ms": round(percentile(ordered, 0.99), 1),
            "max_ms": round(ordered[-1], 1) if ordered else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors,
        }


@dataclass
class LoadReport:
    endpoints: list[Figures]
    overall: Figures
    seconds: float

    @property
    def achieved_rate(self) -> float:
        return self.overall.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "seconds": round(self.seconds, 1),
            "achieved_rps": round(self.achieved_rate, 1),
            "endpoints": [f.summary() for f in self.endpoints],
            "overall": self.overall.summary(),
        }


def load_report(*, requests_log: Path) -> LoadReport:
    """Read the locustfile's request log into figures per endpoint and overall."""
    by_name = {name: Figures(name) for name in ENDPOINTS}
    overall = Figures("all")
    first = last = None
    with requests_log.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            figures = by_name.setdefault(row["name"], Figures(row["name"]))
            ms, status, started = (
                float(row["ms"]),
                int(row["status"]),
                float(row["started"]),
            )
            for target in (figures, overall):
                target.times.append(ms)
                target.statuses[status] += 1
            first = started if first is None else min(first, started)
            last = started if last is None else max(last, started)
    seconds = (last - first) if first is not None and last is not None else 0.0
    return LoadReport(
        endpoints=list(by_name.values()), overall=overall, seconds=seconds
    )
