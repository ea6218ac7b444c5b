"""Fill contacts.linkedin_url_key from linkedin_url for rows written before it.

Backwards is a no-op: the key is derived data and 0001 drops the column.
"""

from django.db import migrations

BATCH_SIZE = 1000


def backfill_linkedin_url_key(apps, schema_editor):
    # The one normaliser the product uses; if it changes later, re-run the
    # key back-fill with it rather than editing this migration.
    from linkedin.profile_urls import normalise_profile_url

    Contact = apps.get_model("contacts", "Contact")
    rows = (
        Contact.objects.exclude(linkedin_url__isnull=True)
        .exclude(linkedin_url="")
        .order_by("pk")
        .values_list("pk", "linkedin_url", "linkedin_url_key")
    )
    changed = []
    for pk, url, key in rows.iterator(chunk_size=BATCH_SIZE):
        new_key = normalise_profile_url(url) or None
        if new_key != key:
            changed.append(Contact(pk=pk, linkedin_url_key=new_key))
    # Collected first: SQLite gives no isolation between an open cursor and
    # writes on the same connection.
    Contact.objects.bulk_update(changed, ["linkedin_url_key"], batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [
        migrations.RunPython(backfill_linkedin_url_key, migrations.RunPython.noop),
    ]
