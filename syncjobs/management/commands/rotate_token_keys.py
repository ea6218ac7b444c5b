"""Re-encrypt every stored OAuth token with the first TOKEN_ENCRYPTION_KEYS key.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS, keep the old
ones after it (they still decrypt), run this command, then drop the old
keys.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from syncjobs.models import ProviderAccount

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Re-encrypt all stored OAuth tokens with the newest key."

    def handle(self, *args, **options):
        rotated = 0
        with transaction.atomic():
            accounts = ProviderAccount.objects.select_for_update().only(
                "pk", "access_token", "refresh_token"
            )
            for account in accounts.iterator(chunk_size=BATCH_SIZE):
                # Reading decrypted with whichever key matches; saving
                # encrypts with the first key.
                account.save(update_fields=["access_token", "refresh_token"])
                rotated += 1
        self.stdout.write(f"re-encrypted the tokens of {rotated} account(s)")
