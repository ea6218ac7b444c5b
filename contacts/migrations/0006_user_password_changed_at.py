from django.db import migrations, models


class Migration(migrations.Migration):
    """Add User.password_changed_at, NULL for every existing user.

    NULL keeps the tokens issued before this migration working: their
    ``pwd`` claim is an HMAC of the password hash, which
    contacts.authentication still accepts while the field is NULL (until
    the first real password change, or the token's expiry).
    """

    dependencies = [
        ("contacts", "0005_user_scores_as_of"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="password_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
