"""Run the whole benchmark: per size seed, run the jobs, measure silk, explain.

Requests go through the product's middleware minus silk and the debug
toolbar (silk's cost is measured on its own), with DEBUG off as in
production: with DEBUG on Django keeps the text of every statement, which
would tax the before paths' hundred thousand statements most.
"""

from __future__ import annotations

import fcntl
import logging
import os
import platform
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import django
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from contacts.models import User
from crm.benchmark import explain, jobs, seed

logger = logging.getLogger(__name__)

DEBUG_TOOLBAR_MIDDLEWARE = "debug_toolbar.middleware.DebugToolbarMiddleware"
# The apps log a line per push or sync run at INFO; hundreds of them would
# bury the table, so they are held at WARNING while the jobs run.
QUIET_LOGGERS = ("contacts", "syncjobs", "linkedin")


@dataclass
class BenchmarkRun:
    vendor: str
    started_at: str
    options: dict
    machine: dict
    seeds: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    silk: list[dict] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)

    @property
    def mismatches(self) -> list[dict]:
        return [
            r
            for r in self.results
            if r["same_result"] is False or r["leak_free"] is False
        ]

    def as_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "started_at": self.started_at,
            "options": self.options,
            "machine": self.machine,
            "seeds": self.seeds,
            "results": self.results,
            "silk": self.silk,
            "explain": self.plans,
        }


def _memory_total() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    kib = int(line.split()[1])
                    return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def database_version() -> str:
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    if connection.vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


def machine_info() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory": _memory_total(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": database_version(),
    }


class BenchmarkBusy(RuntimeError):
    """Another benchmark run holds this database's benchmark users."""


# Any fixed number: the key of the PostgreSQL advisory lock of a run.
_ADVISORY_LOCK_KEY = 0x62656E6368


@contextmanager
def exclusive_run() -> Iterator[None]:
    """Hold this database's benchmark lock for the run, or raise BenchmarkBusy.

    Two runs against one database would delete and reseed each other's
    benchmark users halfway through (it happened: one run's list pages
    came back with contacts the other had just created). PostgreSQL gets
    a session advisory lock; an SQLite file gets a lock file beside it.
    An in-memory SQLite database (the tests') needs none.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_LOCK_KEY])
            (locked,) = cursor.fetchone()
        if not locked:
            raise BenchmarkBusy("another benchmark is running on this database")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_LOCK_KEY])
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or not os.path.isfile(name):
        yield
        return
    with open(f"{name}.benchmark-lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchmarkBusy(
                "another benchmark is running on this database"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def benchmark_middleware() -> list[str]:
    return [
        m
        for m in settings.MIDDLEWARE
        if m not in (jobs.SILK_MIDDLEWARE, DEBUG_TOOLBAR_MIDDLEWARE)
    ]


def benchmark_run(
    *,
    sizes: list[int],
    job_names: list[str],
    repeat: int,
    budget_s: float,
    keep_data: bool = False,
    reuse_data: bool = False,
    with_explain: bool = False,
    silk_rounds: int = 30,
    progress: Callable[[str], None] = lambda message: None,
) -> BenchmarkRun:
    """Seed each size, run the chosen jobs on it, and collect the results.

    Afterwards the benchmark users' data is deleted unless ``keep_data``.
    Raise BenchmarkBusy if another run is using this database.
    """
    with exclusive_run():
        return _benchmark_run(
            sizes=sizes,
            job_names=job_names,
            repeat=repeat,
            budget_s=budget_s,
            keep_data=keep_data,
            reuse_data=reuse_data,
            with_explain=with_explain,
            silk_rounds=silk_rounds,
            progress=progress,
        )


def _benchmark_run(
    *,
    sizes: list[int],
    job_names: list[str],
    repeat: int,
    budget_s: float,
    keep_data: bool,
    reuse_data: bool,
    with_explain: bool,
    silk_rounds: int,
    progress: Callable[[str], None],
) -> BenchmarkRun:
    run = BenchmarkRun(
        vendor=connection.vendor,
        started_at=timezone.now().isoformat(timespec="seconds"),
        options={
            "sizes": sizes,
            "jobs": job_names,
            "repeat": repeat,
            "budget_s": budget_s,
            "silk_rounds": silk_rounds,
        },
        machine=machine_info(),
    )
    middleware = benchmark_middleware()
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        for size in sizes:
            progress(f"seeding {size:,} contacts ({connection.vendor})")
            summary = seed.seed_dataset(size=size, now=timezone.now(), reuse=reuse_data)
            run.seeds.append(summary.__dict__)
            progress(
                f"  {summary.contacts:,} contacts, {summary.interactions:,} "
                f"interactions in {summary.seconds:.1f} s"
                f"{' (reused)' if summary.reused else ''}"
            )
            owner, other = seed.benchmark_users()
            with override_settings(DEBUG=False, MIDDLEWARE=middleware):
                ctx = jobs.job_context(
                    owner=owner,
                    other=other,
                    size=size,
                    repeat=repeat,
                    budget_s=budget_s,
                )
                for name in job_names:
                    progress(f"  {name}")
                    for path_run in jobs.JOB_FUNCTIONS[name](ctx):
                        run.results.append(path_run.as_dict())
                    seed.tables_vacuum()
                if silk_rounds:
                    progress("  silk overhead")
                    run.silk.append(
                        jobs.silk_overhead(
                            ctx, middleware=middleware, rounds=silk_rounds
                        )
                    )
                if with_explain:
                    progress("  explain")
                    body = jobs.push_payload(owner=owner, other=other, now=ctx.now)
                    plans = explain.explain_jobs(
                        owner=owner, now=ctx.now, push_body=body
                    )
                    run.plans += [{"size": size, **plan.as_dict()} for plan in plans]
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        if not keep_data:
            users = list(
                User.objects.filter(email__in=[seed.MAIN_EMAIL, seed.OTHER_EMAIL])
            )
            seed.benchmark_data_clear(users=users)
            for user in users:
                user.delete()
    return run
