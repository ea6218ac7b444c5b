"""Rescore every contact of one user, or of every user, and print the cost."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from contacts.models import User
from syncjobs.models import TRIGGER_MANUAL
from syncjobs.services import rescore_all


class Command(BaseCommand):
    help = "Recompute relationship scores in batch and record one run per user."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="email of the user (default: everyone)")

    def handle(self, *args, **options):
        owner = None
        if options["user"]:
            try:
                owner = User.objects.get(email__iexact=options["user"])
            except User.DoesNotExist:
                raise CommandError(f"no user with email {options['user']!r}") from None

        console = Console(file=self.stdout._out, width=100)
        progress = Progress(
            TextColumn("rescoring"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} users"),
            console=console,
        )
        with progress:
            task = progress.add_task("rescoring", total=None)

            def advance(user: User, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            runs = rescore_all(owner=owner, trigger=TRIGGER_MANUAL, progress=advance)

        table = Table(title="rescore")
        for name in ("user", "status", "rescored", "changed", "queries"):
            table.add_column(
                name, justify="left" if name in ("user", "status") else "right"
            )
        for run in runs:
            table.add_row(
                run.owner.email,
                run.status,
                str(run.contacts_rescored),
                str(run.records_updated),
                str(run.query_count),
            )
        console.print(table)
