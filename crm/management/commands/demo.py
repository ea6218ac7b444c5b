"""The main job after migrate: load the samples, sync once, print a report.

1. Create the demo user (idempotent) and print how to sign in.
2. Import every bundled sample export through the same path as
   ``import_export``.
3. Run every provider sync once against the bundled recorded API
   responses (``sample/recorded``), through the real client libraries.
4. Push the sample LinkedIn payload through the real HTTP endpoint.
5. Rescore everyone and print sync runs, birthdays and overdue contacts.

Running it twice is safe: the second run imports and syncs the same data
and reports 0 created.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rich.console import Console
from rich.table import Table

from contacts.models import Contact, User
from contacts.selectors import contacts_overdue, contacts_upcoming_birthdays
from syncjobs.demo_replay import replay_syncs
from syncjobs.models import SyncRun
from syncjobs.services import import_file, rescore_all

SAMPLE_DIR = Path(settings.BASE_DIR) / "sample"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2026"
SAMPLE_IMPORTS = (
    "contacts.vcf",
    "google-contacts.csv",
    "linkedin-export/Connections.csv",
    "mail.mbox",
    "linkedin-export/messages.csv",
    "twitter-archive",
)
BIRTHDAY_WINDOW_DAYS = 30


class Command(BaseCommand):
    help = "Load the bundled samples for a demo user, sync once and print a report."

    def handle(self, *args, **options):
        console = Console(file=self.stdout, width=128)
        started = timezone.now()
        user = self._demo_user()
        token, _ = Token.objects.get_or_create(user=user)

        for name in SAMPLE_IMPORTS:
            import_file(owner=user, path=SAMPLE_DIR / name)
        replay_syncs(owner=user, recorded_dir=SAMPLE_DIR / "recorded")
        self._push_sample(user, token)
        rescore_all(owner=user, trigger="manual")

        self._print_runs(console, user, started)
        self._print_contacts(console, user)
        self._print_birthdays(console, user)
        self._print_overdue(console, user)
        self._print_access(console, token)

    def _demo_user(self) -> User:
        user, created = User.objects.get_or_create(
            email=DEMO_EMAIL,
            defaults={"username": DEMO_EMAIL, "full_name": "Dana Demo"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = True
            user.is_superuser = True
            user.save()
        return user

    def _push_sample(self, user: User, token: Token) -> None:
        payload = json.loads((SAMPLE_DIR / "linkedin-push.json").read_text())
        client = APIClient(SERVER_NAME="127.0.0.1")
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        response = client.post("/api/v1/linkedin/push", payload, format="json")
        if response.status_code != 200:
            raise RuntimeError(
                f"sample push failed: {response.status_code} {response.content}"
            )

    def _print_runs(self, console: Console, user: User, since) -> None:
        table = Table(
            title="Sync runs of this job (created/updated/skipped count contacts "
            "and interactions together)",
            title_justify="left",
        )
        table.add_column("run", no_wrap=True)
        table.add_column("trigger")
        table.add_column("status")
        for column in ("read", "created", "updated", "skipped", "failed"):
            table.add_column(column, justify="right", min_width=len(column))
        for column in ("rescored", "queries", "ms"):
            table.add_column(column, justify="right", min_width=len(column))
        runs = SyncRun.objects.filter(owner=user, started_at__gte=since)
        for run in runs.order_by("started_at"):
            what = run.platform
            if run.platform == "import":
                what = f"import {run.details.get('format', '')}"
            table.add_row(
                what,
                run.sync_type,
                run.status,
                *(
                    str(value)
                    for value in (
                        run.records_fetched,
                        run.records_created,
                        run.records_updated,
                        run.records_skipped,
                        run.records_failed,
                        run.contacts_rescored,
                        run.query_count,
                        run.duration_ms,
                    )
                ),
            )
        console.print(table)

    def _print_contacts(self, console: Console, user: User) -> None:
        by_source = (
            Contact.objects.filter(owner=user)
            .values("source")
            .annotate(n=Count("id"))
            .order_by("-n", "source")
        )
        table = Table(title="Contacts per source", title_justify="left")
        table.add_column("source")
        table.add_column("contacts", justify="right")
        for row in by_source:
            table.add_row(row["source"] or "-", str(row["n"]))
        console.print(table)

        top = Table(title="Top relationship scores", title_justify="left")
        for column in ("name", "score", "interactions", "last interaction"):
            top.add_column(column)
        best = Contact.objects.filter(owner=user).order_by(
            "-relationship_score", "-interaction_count", "full_name", "id"
        )[:8]
        for contact in best:
            last = contact.last_interaction_at
            top.add_row(
                str(contact),
                str(contact.relationship_score),
                str(contact.interaction_count),
                f"{last:%Y-%m-%d}" if last else "-",
            )
        console.print(top)

    def _print_birthdays(self, console: Console, user: User) -> None:
        today = timezone.now().astimezone(user.tzinfo).date()
        rows = contacts_upcoming_birthdays(
            owner=user, today=today, days=BIRTHDAY_WINDOW_DAYS, limit=10
        )
        table = Table(
            title=f"Birthdays in the next {BIRTHDAY_WINDOW_DAYS} days (from {today})",
            title_justify="left",
        )
        for column in ("name", "birthday", "in days", "turns"):
            table.add_column(column)
        for contact in rows:
            days = contact.birthday_days_until
            birthday = contact.birthday_value
            turns = "-"
            if birthday.year is not None:
                turns = str((today + dt.timedelta(days=days)).year - birthday.year)
            table.add_row(str(contact), birthday.to_api(), str(days), turns)
        console.print(table)

    def _print_overdue(self, console: Console, user: User) -> None:
        rows = contacts_overdue(owner=user, now=timezone.now(), limit=10)
        table = Table(title="Overdue for a follow-up", title_justify="left")
        for column in ("name", "priority", "last interaction", "days overdue"):
            table.add_column(column)
        for contact in rows:
            table.add_row(
                str(contact),
                contact.priority_level,
                f"{contact.last_interaction_at:%Y-%m-%d}",
                str(contact.days_overdue),
            )
        console.print(table)

    def _print_access(self, console: Console, token: Token) -> None:
        base = "http://127.0.0.1:8000"
        login = json.dumps({"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        lines = [
            "",
            "[bold]Sign in[/bold]",
            f"  admin:    {base}/admin/",
            f"            as {DEMO_EMAIL} / {DEMO_PASSWORD}",
            "  web app:  a Bearer token from",
            f"            curl -X POST {base}/api/v1/auth/login \\",
            "              -H 'Content-Type: application/json' \\",
            f"              -d '{login}'",
            f"  scripts:  curl -H 'Authorization: Token {token.key}' \\",
            f"              '{base}/api/v1/contacts/birthdays?days=30'",
            "[bold]Pair the browser extension[/bold]",
            f"  1. POST {base}/api/v1/extension/pair with the web token: a code",
            "  2. type the code into the extension; it polls",
            "     GET /api/v1/extension/pair?code=... and gets its own token",
            f"[bold]Docs[/bold] {base}/api/docs/",
            f"[bold]silk[/bold] {base}/silk/ (staff only)",
        ]
        for line in lines:
            console.print(line, soft_wrap=True)
