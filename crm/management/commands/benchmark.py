"""Run the before/after benchmark on seeded datasets and write its report.

``manage.py benchmark --size small`` seeds 1,000 contacts for a benchmark
user (10,000 for medium, 100,000 for large, or all three), times every job
the original's way and ours, prints the table and writes the JSON and the
plot under ``var/benchmarks/``. It exits non-zero when a path gives a
different answer from the original's or returns another user's data.
Runs against the configured database (``DATABASE_URL`` for PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rich.console import Console

from crm.benchmark import report
from crm.benchmark.jobs import JOBS
from crm.benchmark.runner import BenchmarkBusy, benchmark_run
from crm.benchmark.seed import SIZES


class Command(BaseCommand):
    help = "Time the original's algorithms against ours on seeded datasets."

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", choices=[*SIZES, "all"], default="small", help="default: small"
        )
        parser.add_argument(
            "--contacts",
            type=int,
            default=None,
            help="seed this many contacts instead of a --size (for tests)",
        )
        parser.add_argument(
            "--jobs",
            default=",".join(JOBS),
            help=f"comma-separated, from: {', '.join(JOBS)}",
        )
        parser.add_argument(
            "--repeat", type=int, default=5, help="timed repeats per path"
        )
        parser.add_argument(
            "--budget",
            type=float,
            default=60.0,
            help="seconds a path may spend on repeats before it stops (at least one)",
        )
        parser.add_argument(
            "--silk-rounds",
            type=int,
            default=30,
            help="list requests with silk on and off each (0 skips)",
        )
        parser.add_argument("--explain", action="store_true", help="show query plans")
        parser.add_argument(
            "--keep-data", action="store_true", help="keep the seeded data afterwards"
        )
        parser.add_argument(
            "--reuse-data",
            action="store_true",
            help="reuse a kept dataset of the same size instead of seeding again",
        )
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=None,
            help="default: var/benchmarks",
        )

    def handle(self, *args, **options):
        job_names = [
            name.strip() for name in options["jobs"].split(",") if name.strip()
        ]
        unknown = sorted(set(job_names) - set(JOBS))
        if unknown:
            raise CommandError(
                f"unknown jobs {', '.join(unknown)}; choose from {', '.join(JOBS)}"
            )
        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1")
        if options["contacts"] is not None:
            if options["contacts"] < 1:
                raise CommandError("--contacts must be at least 1")
            sizes = [options["contacts"]]
        elif options["size"] == "all":
            sizes = list(SIZES.values())
        else:
            sizes = [SIZES[options["size"]]]

        self._migrate()
        console = Console(file=self.stdout, width=170, highlight=False)
        try:
            run = benchmark_run(
                sizes=sizes,
                job_names=job_names,
                repeat=options["repeat"],
                budget_s=options["budget"],
                keep_data=options["keep_data"],
                reuse_data=options["reuse_data"],
                with_explain=options["explain"],
                silk_rounds=options["silk_rounds"],
                progress=lambda message: console.print(message, style="dim"),
            )
        except BenchmarkBusy as busy:
            raise CommandError(str(busy)) from None
        checks = report.print_report(console, run)
        directory = options["output_dir"] or Path(settings.VAR_DIR) / "benchmarks"
        written = report.write_outputs(run, directory=directory, checks=checks)
        for name, path in written.items():
            console.print(f"{name}: {path}")
        if run.mismatches:
            wrong = ", ".join(
                f"{r['job']}/{r['size']}/{r['path']}" for r in run.mismatches
            )
            raise CommandError(f"paths disagree with the original or leak: {wrong}")

    def _migrate(self) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            call_command("migrate", interactive=False, verbosity=0)
