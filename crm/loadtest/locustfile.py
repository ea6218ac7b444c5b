"""Locust users for the load test: the mixed API traffic of one busy account.

Run by ``manage.py loadtest`` (through ``bin/loadtest``), never by hand
against anything but the gunicorn it starts on 127.0.0.1. Everything a user
needs comes from the plan file named by ``LOADTEST_PLAN`` (written by
``crm.loadtest.plan``): the token, the request mix, the rate, and the
LinkedIn profiles the pushes talk about. Every request's name, status and
time goes to the plan's ``requests_log`` as one CSV line, so the report
computes exact percentiles instead of locust's rounded ones.

This module runs inside locust's own virtual environment: of the project
it imports only ``bodies``, by path, which needs no Django.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, constant_throughput, events, task
from locust.exception import StopUser

# The project is not importable here; its Django-free helper is, by path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bodies import push_body

logger = logging.getLogger(__name__)

with open(os.environ["LOADTEST_PLAN"], encoding="utf-8") as _plan:
    PLAN = json.load(_plan)
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")
HOST = PLAN["host"]
# Refuse to aim at anything but this machine, whatever --host says.
if urlsplit(HOST).hostname not in ALLOWED_HOSTS:
    raise SystemExit(f"the load test only targets 127.0.0.1, not {HOST}")

_log_file = open(PLAN["requests_log"], "w", newline="", encoding="utf-8")  # noqa: SIM115
_log = csv.writer(_log_file)
_log.writerow(("name", "status", "ms", "started"))
_push_numbers = itertools.count()


@events.request.add_listener
def _record(request_type, name, response_time, response, exception, **_):
    # 0: no answer at all (refused, reset, timed out).
    status = getattr(response, "status_code", 0) if response is not None else 0
    started = time.time() - response_time / 1000
    _log.writerow((name, status, f"{response_time:.3f}", f"{started:.6f}"))


@events.quitting.add_listener
def _close(**_):
    _log_file.flush()
    _log_file.close()


class CrmUser(FastHttpUser):
    """One client of the API; together they make PLAN["rate"] requests a second."""

    host = HOST
    wait_time = constant_throughput(PLAN["rate"] / PLAN["users"])
    # A slow answer is a result to report, not a reason to give up early.
    network_timeout = 30.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        if urlsplit(self.host).hostname not in ALLOWED_HOSTS:
            logger.error("not load-testing %s: only 127.0.0.1", self.host)
            raise StopUser()
        self.headers = {"Authorization": f"Token {PLAN['token']}"}
        self.rng = random.Random()

    @task(PLAN["weights"]["list"])
    def contact_list(self) -> None:
        page = self.rng.randint(1, PLAN["list_pages"])
        self.client.get(
            f"/api/v1/contacts?page={page}", headers=self.headers, name="list"
        )

    @task(PLAN["weights"]["birthdays"])
    def birthdays(self) -> None:
        self.client.get(
            "/api/v1/contacts/birthdays?days=30", headers=self.headers, name="birthdays"
        )

    @task(PLAN["weights"]["overdue"])
    def overdue(self) -> None:
        self.client.get(
            "/api/v1/contacts/overdue", headers=self.headers, name="overdue"
        )

    @task(PLAN["weights"]["push"])
    def push(self) -> None:
        body = push_body(
            plan=PLAN,
            number=next(_push_numbers),
            rng=self.rng,
            now=dt.datetime.now(dt.UTC),
        )
        self.client.post(
            "/api/v1/linkedin/push", json=body, headers=self.headers, name="push"
        )
