"""contacts 0002: rows written before linkedin_url_key existed get their key."""

from __future__ import annotations

import importlib
import uuid

from django.apps import apps

from contacts.models import Contact

migration = importlib.import_module(
    "contacts.migrations.0002_backfill_linkedin_url_key"
)


def raw_contact(owner, url, key=None) -> Contact:
    """Insert a contact without contacts.services, so no key is computed."""
    return Contact.objects.bulk_create(
        [
            Contact(
                id=uuid.uuid4(),
                owner=owner,
                full_name="Old Row",
                linkedin_url=url,
                linkedin_url_key=key,
                emails=[],
                phones=[],
                tags=[],
                user_edited_fields=[],
            )
        ]
    )[0]


def test_the_backfill_stores_the_canonical_key_of_every_profile_url(alice):
    spelled = raw_contact(alice, "http://uk.linkedin.com/in/Jane-Doe-123/?trk=x")
    company = raw_contact(alice, "https://www.linkedin.com/company/acme", key="stale")
    blank = raw_contact(alice, "")
    missing = raw_contact(alice, None)

    migration.backfill_linkedin_url_key(apps, None)

    keys = dict(Contact.objects.values_list("pk", "linkedin_url_key"))
    assert keys == {
        spelled.pk: "https://www.linkedin.com/in/jane-doe-123",
        company.pk: None,
        blank.pk: None,
        missing.pk: None,
    }


def test_running_the_backfill_twice_changes_nothing_more(
    alice, django_assert_num_queries
):
    raw_contact(alice, "linkedin.com/in/twice")
    migration.backfill_linkedin_url_key(apps, None)

    # One read and no write: every key is already right.
    with django_assert_num_queries(1):
        migration.backfill_linkedin_url_key(apps, None)

    assert Contact.objects.get().linkedin_url_key == "https://www.linkedin.com/in/twice"
