"""Run one provider sync now for one user, and print what it did."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from contacts.models import User
from syncjobs.models import TRIGGER_MANUAL, ProviderAccount
from syncjobs.providers.base import ProviderError
from syncjobs.services import ACCOUNT_KINDS, sync_provider


class Command(BaseCommand):
    help = "Sync one provider (gmail, google_contacts, google_calendar, twitter)."

    def add_arguments(self, parser):
        parser.add_argument("provider", choices=sorted(ACCOUNT_KINDS))
        parser.add_argument("--user", required=True, help="email of the user")
        parser.add_argument("--account", help="only this account (email or X id)")

    def handle(self, *args, **options):
        platform = options["provider"]
        try:
            owner = User.objects.get(email__iexact=options["user"])
        except User.DoesNotExist:
            raise CommandError(f"no user with email {options['user']!r}") from None
        accounts = ProviderAccount.objects.filter(
            owner=owner, kind=ACCOUNT_KINDS[platform]
        ).order_by("account_id")
        if options["account"]:
            accounts = accounts.filter(account_id=options["account"])
        if not accounts:
            raise CommandError(f"{owner.email} has no account that {platform} can use")

        for account in accounts:
            try:
                run = sync_provider(
                    account=account, platform=platform, trigger=TRIGGER_MANUAL
                )
            except ProviderError as exc:
                raise CommandError(f"{account}: {exc} (try again later)") from exc
            self.stdout.write(
                f"{account}: {run.status} - read {run.records_fetched}, "
                f"created {run.records_created}, updated {run.records_updated}, "
                f"skipped {run.records_skipped}, failed {run.records_failed}, "
                f"rescored {run.contacts_rescored}, {run.query_count} queries"
            )
            if run.error_message:
                self.stdout.write(f"  {run.error_message}")
