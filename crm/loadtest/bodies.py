"""Build the load test's push bodies; plain Python, shared by locust and tests.

The locustfile runs in locust's own environment without Django, so this
module imports nothing from the project.
"""

from __future__ import annotations

import datetime as dt
import random


def push_body(*, plan: dict, number: int, rng: random.Random, now: dt.datetime) -> dict:
    """Return a push as the extension sends it after one visit to LinkedIn.

    Two known people's profiles, and four messages: two new ones from them
    and one from a third known person by profile id only (all three with
    keys unique to ``plan["run_id"]`` and ``number``, so they are stored),
    and one that is already stored (so it is skipped).
    """
    people = rng.sample(plan["push_targets"], 3)
    stored = rng.choice(plan["stored_messages"])
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    conversation = f"lt-{plan['run_id']}-{number}"

    def message(person: dict, k: int, direction: str) -> dict:
        at = now - dt.timedelta(minutes=k)
        return {
            "profile_id": person["profile_id"],
            "profile_name": person["full_name"],
            "direction": direction,
            "content_preview": f"Load test message {number}.{k}",
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conversation_id": conversation,
            "content_hash": f"h{k}",
        }

    return {
        "profiles": [
            {
                "profile_id": person["profile_id"],
                "profile_url": person["profile_url"],
                "full_name": person["full_name"],
                "headline": "Staff Engineer at Acme",
                "company": "Acme",
                "location": "Berlin",
            }
            for person in people[:2]
        ],
        "messages": [
            message(people[0], 1, "inbound"),
            message(people[1], 2, "outbound"),
            message(people[2], 3, "inbound"),
            {**message(people[0], 0, "inbound"), **stored},
        ],
    }
