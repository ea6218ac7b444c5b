"""Run the bounded load test: gunicorn on 127.0.0.1, PostgreSQL, locust headless.

1. Create the PostgreSQL database of ``DATABASE_URL`` if it is missing,
   migrate it, and seed the benchmark's dataset (``crm.benchmark.seed``;
   medium: 10,000 contacts).
2. Start gunicorn on 127.0.0.1 with the production settings (DEBUG off)
   and the push throttle raised (``THROTTLE_PUSH``): at 200 requests a
   second the default 120/min would answer most pushes with a 429.
3. Run locust headless (its own virtual environment, ``bin/loadtest`` makes
   it) at ``--rate`` requests a second for ``--duration`` seconds, mixing
   the list, birthdays, overdue and the LinkedIn push, token-authenticated.
4. Stop gunicorn, print p50/p95/p99 per endpoint and overall, and write
   ``var/loadtest/report.json``.

Exits non-zero on any server error (a 5xx, or no answer), on any other
non-2xx answer, on a traceback in gunicorn's log, or when the rate reached
is under 95% of the one asked for. Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from crm.benchmark.seed import SIZES, benchmark_users, seed_dataset
from crm.loadtest.plan import ENDPOINTS, WEIGHTS, load_report, loadtest_plan

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
LOCAL_HOSTS = (HOST, "localhost", "::1", "")
LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtest" / "locustfile.py"
MAX_DURATION = 600
MIN_RATE_SHARE = 0.95
READY_SECONDS = 60
WARM_UP_ROUNDS = 10
# The server's environment on top of the caller's: production settings,
# served over plain HTTP on the loopback, pushes not throttled.
SERVER_ENV = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": HOST,
    "SECURE_SSL_REDIRECT": "false",
    "DEBUG_TOOLBAR_ENABLED": "false",
    "THROTTLE_PUSH": "1000000/min",
    "LOG_LEVEL": "WARNING",
    "APP_LOG_LEVEL": "WARNING",
}


def _mix(text: str) -> dict[str, int]:
    """Parse "list=4,push=1" into weights; endpoints not named get 0."""
    weights = dict.fromkeys(ENDPOINTS, 0)
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in weights or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"expected name=weight with names from {', '.join(ENDPOINTS)}"
            )
        weights[name.strip()] = int(value)
    if not any(weights.values()):
        raise argparse.ArgumentTypeError("at least one weight must be above 0")
    return weights


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> float:
    """Return the CPU seconds the whole machine has been busy, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [float(v) for v in fields[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """Return the CPU seconds of one process so far, 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the command name, which may itself hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """Return the CPU seconds of a process and its children (gunicorn's workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return _process_cpu(pid) + sum(_process_cpu(int(child)) for child in children)


def _database_cpu() -> dict[int, float]:
    """Return the CPU seconds of every other backend serving this database.

    PostgreSQL runs on this machine (the load test only targets
    127.0.0.1), so its backends' times can be read from /proc.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: _process_cpu(pid) for pid in pids}


class BackendCpu:
    """Follow the CPU time of this database's backends while the load runs.

    Sampled every second: a backend that closes (CONN_MAX_AGE) takes at
    most its last second with it.
    """

    def __init__(self) -> None:
        self.first = _database_cpu()
        self.last = dict(self.first)

    def sample(self) -> None:
        self.last |= _database_cpu()

    @property
    def seconds(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


class Command(BaseCommand):
    help = "Load-test list, birthdays, overdue and the push on 127.0.0.1."
    # The database may not exist yet: checks must not connect before it does.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(SIZES), default="medium")
        parser.add_argument("--rate", type=float, default=200.0, help="requests/s")
        parser.add_argument("--duration", type=int, default=60, help="seconds")
        parser.add_argument(
            "--users", type=int, default=100, help="locust users sharing the rate"
        )
        parser.add_argument(
            "--mix",
            type=_mix,
            default=dict(WEIGHTS),
            help="relative weights, default "
            + ",".join(f"{k}={v}" for k, v in WEIGHTS.items()),
        )
        # Four processes on two cores: a request spends part of its time
        # waiting on PostgreSQL, and threads of one process share its GIL;
        # 2 x 4 left the machine 75 % busy at 180 requests/s.
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="per worker")
        parser.add_argument("--port", type=int, default=0, help="default: a free one")
        parser.add_argument(
            "--reuse-data",
            action="store_true",
            help="keep a seeded dataset of the same size instead of seeding again",
        )
        parser.add_argument(
            "--silk",
            action="store_true",
            help="keep silk recording every request, as production does by default",
        )
        parser.add_argument(
            "--locust",
            type=Path,
            default=Path(settings.VAR_DIR) / "loadtest" / "venv" / "bin" / "locust",
            help="the locust executable (bin/loadtest installs one)",
        )
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=Path(settings.VAR_DIR) / "loadtest",
        )

    def handle(self, *args, **options):
        console = Console(file=self.stdout, width=110)
        duration = options["duration"]
        if not 1 <= duration <= MAX_DURATION:
            raise CommandError(f"--duration must be 1-{MAX_DURATION} seconds")
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError(
                "the load test runs on PostgreSQL: set DATABASE_URL=postgres://..."
            )
        db_host = database.get("HOST") or ""
        # A path is a Unix socket, on this machine too.
        if db_host not in LOCAL_HOSTS and not db_host.startswith("/"):
            raise CommandError(
                "the load test runs against a PostgreSQL on this machine only "
                f"(127.0.0.1), not {db_host}"
            )
        if not options["locust"].exists():
            raise CommandError(
                f"locust not found at {options['locust']}; run bin/loadtest, "
                "which installs it from crm/loadtest/requirements.txt"
            )
        out = options["output_dir"]
        out.mkdir(parents=True, exist_ok=True)

        self._database_create(database)
        call_command("migrate", interactive=False, verbosity=0)
        size = SIZES[options["size"]]
        seeded = seed_dataset(
            size=size, now=timezone.now(), reuse=options["reuse_data"]
        )
        console.print(
            f"dataset: {seeded.contacts:,} contacts, {seeded.interactions:,} "
            f"interactions ({'reused' if seeded.reused else 'seeded'} in "
            f"{seeded.seconds:.1f} s)"
        )
        owner, _ = benchmark_users()

        port = options["port"] or _free_port()
        base_url = f"http://{HOST}:{port}"
        run_id = timezone.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)
        requests_log = out / "requests.csv"
        plan = loadtest_plan(
            owner=owner,
            host=base_url,
            rate=options["rate"],
            users=options["users"],
            run_id=run_id,
            requests_log=requests_log,
            weights=options["mix"],
        )
        plan_path = out / "plan.json"
        plan_path.write_text(json.dumps(plan, indent=1))
        # Gunicorn's processes open their own connections.
        connection.close()

        server_log = out / "gunicorn.log"
        # Gunicorn appends to its log; each run's verdict reads its own.
        server_log.unlink(missing_ok=True)
        server = self._gunicorn_start(options, port=port, log=server_log)
        try:
            self._wait_ready(base_url, plan["token"], server)
            self._warm_up(base_url, plan["token"])
            console.print(
                f"load: {options['rate']:g} requests/s for {duration} s, "
                f"{options['users']} users, gunicorn {options['workers']} workers x "
                f"{options['threads']} threads on {base_url}"
            )
            load_before = os.getloadavg()[0]
            machine_before = _machine_busy()
            wall_before = time.monotonic()
            client_before = _children_cpu()
            server_before = _tree_cpu(server.pid)
            backends = BackendCpu()
            self._locust_run(
                options,
                plan_path=plan_path,
                out=out,
                host=base_url,
                every_second=backends.sample,
            )
            client_cpu = _children_cpu() - client_before
            server_cpu = _tree_cpu(server.pid) - server_before
            machine_cpu = _machine_busy() - machine_before
            wall = time.monotonic() - wall_before
            backends.sample()
            connection.close()
        finally:
            self._gunicorn_stop(server)

        report = load_report(requests_log=requests_log)
        database_cpu = backends.seconds
        cores = os.cpu_count() or 1
        requests = report.overall.requests or 1
        per_request = {
            "client": client_cpu / requests * 1000,
            "server": server_cpu / requests * 1000,
            "database": database_cpu / requests * 1000,
        }
        cpu = {
            "cores": cores,
            "load_average_before": round(load_before, 2),
            "client_s": round(client_cpu, 1),
            "server_s": round(server_cpu, 1),
            "database_s": round(database_cpu, 1),
            "machine_s": round(machine_cpu, 1),
            "machine_busy_share": round(machine_cpu / (wall * cores), 2),
            "ms_per_request": {k: round(v, 2) for k, v in per_request.items()},
            # What the cores could serve if the load test had them to itself.
            "capacity_estimate_rps": round(cores * 1000 / sum(per_request.values()), 1),
        }
        tracebacks = server_log.read_text(errors="replace").count("Traceback")
        summary = report.as_dict() | {
            "target_rps": options["rate"],
            "duration_s": duration,
            "size": options["size"],
            "contacts": seeded.contacts,
            "users": options["users"],
            "mix": options["mix"],
            "gunicorn": {"workers": options["workers"], "threads": options["threads"]},
            "silk": options["silk"],
            "cpu": cpu,
            "tracebacks_in_server_log": tracebacks,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (out / "report.json").write_text(json.dumps(summary, indent=2))
        self._print(console, report, summary, out)
        self._verdict(report, summary, server_log)

    # --- steps ----------------------------------------------------------------

    def _database_create(self, database: dict) -> None:
        """Create the configured database when it does not exist yet."""
        import psycopg
        from psycopg import sql

        params = {
            "host": database.get("HOST") or HOST,
            "port": database.get("PORT") or 5432,
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
            "dbname": "postgres",
        }
        with psycopg.connect(autocommit=True, **params) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]
            ).fetchone()
            if not exists:
                admin.execute(
                    sql.SQL("CREATE DATABASE {}").format(
                        sql.Identifier(database["NAME"])
                    )
                )
                self.stdout.write(f"created database {database['NAME']}")

    def _gunicorn_start(self, options, *, port: int, log: Path) -> subprocess.Popen:
        env = os.environ | SERVER_ENV
        env.setdefault("SECRET_KEY", "loadtest-" + secrets.token_urlsafe(48))
        env["SILK_ENABLED"] = "true" if options["silk"] else "false"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--worker-class",
            "gthread",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--capture-output",
            "--error-logfile",
            str(log),
        ]
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)

    def _wait_ready(self, base_url: str, token: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited with {server.returncode}")
            try:
                self._get(base_url, "/api/v1/contacts/overdue", token)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        raise CommandError(f"gunicorn did not answer within {READY_SECONDS} s")

    def _warm_up(self, base_url: str, token: str) -> None:
        """Load every worker's code and connections before the timed run."""
        for _ in range(WARM_UP_ROUNDS):
            for path in (
                "/api/v1/contacts",
                "/api/v1/contacts/birthdays?days=30",
                "/api/v1/contacts/overdue",
            ):
                self._get(base_url, path, token)

    @staticmethod
    def _get(base_url: str, path: str, token: str) -> None:
        request = urllib.request.Request(
            base_url + path, headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def _locust_run(
        self,
        options,
        *,
        plan_path: Path,
        out: Path,
        host: str,
        every_second: Callable[[], None],
    ) -> None:
        users = options["users"]
        command = [
            str(options["locust"]),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            host,
            "--users",
            str(users),
            # All users within a second, so the rate holds from the start.
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{options['duration']}s",
            "--stop-timeout",
            "10",
            "--only-summary",
            "--csv",
            str(out / "locust"),
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ]
        env = os.environ | {"LOADTEST_PLAN": str(plan_path)}
        # Bounded twice over: locust stops itself, and is killed past this.
        deadline = time.monotonic() + options["duration"] + 60
        with (out / "locust.log").open("w") as log:
            client = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            while client.poll() is None:
                if time.monotonic() > deadline:
                    client.kill()
                    client.wait()
                    raise CommandError("locust did not stop by itself; killed it")
                every_second()
                time.sleep(1)
        if client.returncode != 0:
            raise CommandError(f"locust failed with exit code {client.returncode}")

    @staticmethod
    def _gunicorn_stop(server: subprocess.Popen) -> None:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    # --- report ---------------------------------------------------------------

    def _print(self, console: Console, report, summary: dict, out: Path) -> None:
        table = Table(
            title=(
                f"{summary['overall']['requests']:,} requests in "
                f"{summary['seconds']:.1f} s = {summary['achieved_rps']:.1f}/s "
                f"(target {summary['target_rps']:g}/s)"
            ),
            title_justify="left",
        )
        table.add_column("endpoint")
        for column in ("requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "5xx"):
            table.add_column(column, justify="right")
        table.add_column("statuses")
        for row in [*summary["endpoints"], summary["overall"]]:
            table.add_row(
                row["name"],
                f"{row['requests']:,}",
                f"{row['p50_ms']:.1f}",
                f"{row['p95_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                f"{row['max_ms']:.1f}",
                str(row["server_errors"]),
                ", ".join(f"{k}: {v:,}" for k, v in row["statuses"].items()),
            )
        console.print(table)
        cpu = summary["cpu"]
        seconds = summary["seconds"] or 1
        per = cpu["ms_per_request"]
        console.print(
            f"CPU per request: gunicorn {per['server']:.1f} ms, PostgreSQL "
            f"{per['database']:.1f} ms, locust {per['client']:.1f} ms; locust used "
            f"{cpu['client_s'] / seconds:.0%} of a core. {cpu['cores']} cores to "
            f"itself, this mix would top out near {cpu['capacity_estimate_rps']:.0f} "
            f"requests/s. Machine busy {cpu['machine_busy_share']:.0%}, load "
            f"average before {cpu['load_average_before']:.2f}."
        )
        others = (
            cpu["machine_s"] - cpu["client_s"] - cpu["server_s"] - cpu["database_s"]
        )
        # PostgreSQL's own background work and the kernel's loopback traffic
        # come to a few tenths of a core on their own.
        if cpu["load_average_before"] > 1.0 or others / seconds > 0.5:
            console.print(
                "[yellow]other work was running on the machine: latencies and the "
                "rate reached understate what the server can do[/yellow]"
            )
        console.print(f"report: {out / 'report.json'}")

    def _verdict(self, report, summary: dict, server_log: Path) -> None:
        problems = []
        if report.overall.server_errors:
            problems.append(
                f"{report.overall.server_errors} server error(s) (5xx or no answer)"
            )
        if report.overall.other_failures:
            problems.append(f"{report.overall.other_failures} non-2xx answer(s)")
        if summary["tracebacks_in_server_log"]:
            problems.append(
                f"{summary['tracebacks_in_server_log']} traceback(s) in {server_log}"
            )
        wanted = summary["target_rps"] * MIN_RATE_SHARE
        if report.achieved_rate < wanted:
            problems.append(
                f"reached {report.achieved_rate:.1f} requests/s, under {wanted:.0f}"
            )
        counted = {f.name: f.requests for f in report.endpoints}
        missing = [
            name
            for name, weight in summary["mix"].items()
            if weight and not counted[name]
        ]
        if missing:
            problems.append(f"no requests to {', '.join(missing)}")
        if problems:
            raise CommandError("load test failed: " + "; ".join(problems))
        self.stdout.write(self.style.SUCCESS("load test passed: 0 server errors"))
