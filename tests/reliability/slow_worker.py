"""Start a real Celery worker whose Google Contacts provider is slow the first time.

Run as ``python -m tests.reliability.slow_worker <celery worker options>``.
The worker is the product's own (``crm.celery``, the real tasks, broker and
database from the environment); only the provider is swapped, the way
``tests/syncjobs/test_tasks.py`` swaps it, so no product code reads a
test-only setting. ``SLOW_PROVIDER_MARKER`` names a file: the first fetch
creates it, writes its process id in it and then sleeps
``SLOW_PROVIDER_SECONDS`` (long enough to be killed); every later fetch, in
any worker, returns at once.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from syncjobs.providers.base import Provider
from syncjobs.records import ParseResult

PEOPLE = 40
MARKER_ENV = "SLOW_PROVIDER_MARKER"
SECONDS_ENV = "SLOW_PROVIDER_SECONDS"


def canned_people() -> ParseResult:
    # Imported when first used: it reads models, so Django must be set up.
    from tests.reliability.providers import people_result

    return people_result(range(PEOPLE), cursor="slow-1")


class SlowOncePeople(Provider):
    """Google Contacts that stalls on its first fetch, as a hung API call would."""

    platform = "google_contacts"

    def fetch(self, *, credentials, cursor, now):
        marker = Path(os.environ[MARKER_ENV])
        try:
            with marker.open("x") as first:
                # Which process to kill: the worker itself, or its pool child.
                first.write(str(os.getpid()))
        except FileExistsError:
            return canned_people()
        time.sleep(float(os.environ.get(SECONDS_ENV, "120")))
        return canned_people()


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from syncjobs import services
    from syncjobs.models import PROVIDER_GOOGLE_CONTACTS

    services.PROVIDER_CLASSES[PROVIDER_GOOGLE_CONTACTS] = (
        "tests.reliability.slow_worker.SlowOncePeople"
    )
    from crm.celery import app

    app.worker_main(["worker", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
