"""Import an export file (mbox, .eml, vCard, Google or LinkedIn CSV, X archive)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from contacts.models import User
from syncjobs.importers import FORMATS, UnknownFormat
from syncjobs.services import IMPORT_STEPS, import_file


def command_user(email: str | None) -> User:
    """Return the user named by ``--user``, or the only user there is."""
    if email:
        try:
            return User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            raise CommandError(f"no user with email {email!r}") from None
    users = list(User.objects.order_by("email")[:2])
    if len(users) != 1:
        raise CommandError("more than one user (or none): pass --user EMAIL")
    return users[0]


class Command(BaseCommand):
    help = "Import contacts and interactions from an export file or folder."

    def add_arguments(self, parser):
        parser.add_argument("path", help="file, folder or .zip to import")
        parser.add_argument("--user", help="email of the user who owns the data")
        parser.add_argument("--format", choices=FORMATS, help="skip detection")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="show what would be created and updated, write nothing",
        )

    def handle(self, *args, **options):
        owner = command_user(options["user"])
        console = Console(file=self.stdout._out, width=160)
        progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
        )
        with progress:
            task = progress.add_task(IMPORT_STEPS[0], total=len(IMPORT_STEPS))

            def advance(step: str, done: int, total: int) -> None:
                progress.update(task, description=step, completed=done, total=total)

            try:
                report = import_file(
                    owner=owner,
                    path=options["path"],
                    fmt=options["format"],
                    dry_run=options["dry_run"],
                    progress=advance,
                )
            except (UnknownFormat, OSError) as exc:
                raise CommandError(str(exc)) from exc

        verb = "would be" if report.dry_run else "were"
        console.print(
            f"{report.path} ({report.format}): what {verb} imported", soft_wrap=True
        )
        summary = Table()
        summary.add_column("")
        summary.add_column("records", justify="right")
        for label, value in (
            ("read", report.fetched),
            ("created", report.created),
            ("updated", report.updated),
            ("skipped", report.skipped),
            ("failed", report.failed),
            ("rescored", report.rescored),
        ):
            summary.add_row(label, str(value))
        console.print(summary)

        problems = [("error", p) for p in report.problems]
        problems += [("warning", p) for p in report.warnings]
        if problems:
            table = Table(title="problems")
            for name in ("kind", "position", "reason"):
                table.add_column(name, overflow="fold")
            for kind, problem in problems:
                table.add_row(kind, problem.position, problem.reason)
            console.print(table)
        if report.dry_run:
            console.print("dry run: nothing was written")
        else:
            console.print(
                f"sync run {report.run.pk}: {report.run.status}, "
                f"{report.query_count} queries",
                soft_wrap=True,
            )
