"""Users, contacts and their interactions: fields, constraints and indexes.

Field names follow the original's wire format. Where the original stored
loose text (birthdays, emails, tags) the values are stored strictly here and
the API renders the original's strings from them.
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.hashers import acheck_password, check_password, make_password
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import ExtractDay, ExtractMonth, Lower
from django.utils import timezone

from contacts.birthdays import Birthday

PRIORITY_HIGH = "high"
PRIORITY_MEDIUM = "medium"
PRIORITY_LOW = "low"
PRIORITY_ARCHIVED = "archived"
PRIORITY_CHOICES = [
    (PRIORITY_HIGH, "High"),
    (PRIORITY_MEDIUM, "Medium"),
    (PRIORITY_LOW, "Low"),
    (PRIORITY_ARCHIVED, "Archived"),
]
# Threshold days a user may set for a priority (the original's 7..365).
THRESHOLD_MIN_DAYS = 7
THRESHOLD_MAX_DAYS = 365
DEFAULT_THRESHOLDS = {PRIORITY_HIGH: 30, PRIORITY_MEDIUM: 60, PRIORITY_LOW: 180}

# Fields a user's own edit protects from every later sync write.
PROTECTABLE_FIELDS = frozenset(
    {
        "full_name",
        "given_name",
        "family_name",
        "company",
        "title",
        "location",
        "tags",
        "notes",
        "birthday",
        "linkedin_headline",
        "twitter_handle",
        "emails",
        "phones",
    }
)

LEAP_DAY_FEB28 = "feb28"
LEAP_DAY_MAR1 = "mar1"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name")


def default_sync_settings() -> dict:
    return {
        "gmail": {"auto_sync": True, "schedule": "6h"},
        "google_contacts": {"auto_sync": True, "schedule": "daily"},
        "google_calendar": {"auto_sync": True, "schedule": "daily"},
        "twitter": {"auto_sync": True, "schedule": "daily"},
        "linkedin": {"auto_sync": False, "schedule": "manual"},
    }


def _threshold_field(default: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        default=default,
        validators=[
            MinValueValidator(THRESHOLD_MIN_DAYS),
            MaxValueValidator(THRESHOLD_MAX_DAYS),
        ],
    )


class CRMUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email)
        username = username or email
        return super()._create_user(username, email, password, **extra_fields)

    def create_user(self, username=None, email=None, password=None, **extra_fields):
        return super().create_user(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person whose network this is; signs in with their email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=255, blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    priority_high_days = _threshold_field(DEFAULT_THRESHOLDS[PRIORITY_HIGH])
    priority_medium_days = _threshold_field(DEFAULT_THRESHOLDS[PRIORITY_MEDIUM])
    priority_low_days = _threshold_field(DEFAULT_THRESHOLDS[PRIORITY_LOW])
    # Where a Feb 29 birthday falls in a year without one.
    leap_day_birthdays_on = models.CharField(
        max_length=5,
        choices=[(LEAP_DAY_FEB28, "February 28"), (LEAP_DAY_MAR1, "March 1")],
        default=LEAP_DAY_FEB28,
    )
    # Local hour at which birthday reminders for the day are sent.
    birthday_reminder_hour = models.PositiveSmallIntegerField(
        default=9, validators=[MaxValueValidator(23)]
    )
    sync_settings = models.JSONField(default=default_sync_settings, blank=True)
    # The ``now`` of the last nightly (or first full) rescore of all this
    # user's contacts; syncs and pushes never move it. Its exact meaning is
    # in contacts.scoring.nightly_rescore_start. NULL: never, rescore all.
    scores_as_of = models.DateTimeField(blank=True, null=True)
    # When the password was last really changed (set_password, or made
    # unusable); a rehash on sign-in leaves it alone. Tokens carry an HMAC
    # of it (contacts.authentication.password_claim), so a change ends
    # them and a rehash does not. NULL: not changed since the account was
    # made (or since migration 0006).
    password_changed_at = models.DateTimeField(blank=True, null=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CRMUserManager()

    REQUIRED_FIELDS = ["email"]

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def set_unusable_password(self):
        super().set_unusable_password()
        self.password_changed_at = timezone.now()

    def check_password(self, raw_password) -> bool:
        """Return whether ``raw_password`` is the password; rehash it if outdated.

        Django's own rehash goes through set_password, which would count a
        hasher upgrade as a password change and end every token.
        """
        return check_password(raw_password, self.password, self._rehash)

    async def acheck_password(self, raw_password) -> bool:
        """Return whether ``raw_password`` is the password (check_password)."""

        async def setter(raw_password):
            self._store_rehash(raw_password)
            await self.asave(update_fields=["password"])

        return await acheck_password(raw_password, self.password, setter)

    def _rehash(self, raw_password) -> None:
        self._store_rehash(raw_password)
        self.save(update_fields=["password"])

    def _store_rehash(self, raw_password) -> None:
        self.password = make_password(raw_password)
        # As Django's setter: an upgrade is no change for password validators.
        self._password = None

    def save(self, *args, **kwargs):
        # A save of the password alone must carry its change time too, or
        # a set_password saved with update_fields=["password"] would keep
        # every older token working.
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "password" in update_fields:
            kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        super().save(*args, **kwargs)

    @property
    def priority_thresholds(self) -> dict[str, int]:
        return {
            PRIORITY_HIGH: self.priority_high_days,
            PRIORITY_MEDIUM: self.priority_medium_days,
            PRIORITY_LOW: self.priority_low_days,
        }

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Contact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="contacts")

    full_name = models.CharField(max_length=255, blank=True, null=True)
    given_name = models.CharField(max_length=255, blank=True, null=True)
    family_name = models.CharField(max_length=255, blank=True, null=True)
    # Display copies, in the order the source gave them. Matching never
    # reads these: it uses ContactEmail and ContactTag, which
    # contacts.services keeps in step on every write.
    emails = models.JSONField(default=list, blank=True)
    phones = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    company = models.CharField(max_length=255, blank=True, null=True)
    title = models.CharField(max_length=255, blank=True, null=True)
    location = models.CharField(max_length=255, blank=True, null=True)
    notes = models.TextField(blank=True, null=True)
    avatar_url = models.CharField(max_length=500, blank=True, null=True)

    twitter_handle = models.CharField(max_length=100, blank=True, null=True)
    twitter_user_id = models.CharField(max_length=64, blank=True, null=True)
    twitter_bio = models.TextField(blank=True, null=True)
    telegram_username = models.CharField(max_length=100, blank=True, null=True)
    telegram_bio = models.TextField(blank=True, null=True)
    linkedin_url = models.CharField(max_length=500, blank=True, null=True)
    # Canonical "https://www.linkedin.com/in/<slug>" of linkedin_url, kept in
    # step by contacts.services; the push matches on it.
    linkedin_url_key = models.CharField(max_length=300, blank=True, null=True)
    linkedin_profile_id = models.CharField(max_length=200, blank=True, null=True)
    linkedin_headline = models.CharField(max_length=500, blank=True, null=True)
    linkedin_bio = models.TextField(blank=True, null=True)
    google_resource_name = models.CharField(max_length=200, blank=True, null=True)

    birthday = models.DateField(blank=True, null=True)
    birthday_year_known = models.BooleanField(default=True)
    # A birthday that a source gave only as words ("mid-June"): kept, never
    # turned into a date, never reminded about.
    birthday_text = models.CharField(max_length=200, blank=True, default="")
    # Stored copies of the birthday's month and day, so the birthday query
    # is an index range scan: on SQLite, ExtractMonth on the fly calls a
    # Python function per row and no index can serve it.
    birthday_month = models.GeneratedField(
        expression=ExtractMonth("birthday"),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )
    birthday_day = models.GeneratedField(
        expression=ExtractDay("birthday"),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )

    priority_level = models.CharField(
        max_length=10, choices=PRIORITY_CHOICES, default=PRIORITY_MEDIUM
    )
    source = models.CharField(max_length=32, blank=True, null=True)
    relationship_score = models.PositiveSmallIntegerField(default=0)
    interaction_count = models.PositiveIntegerField(default=0)
    last_interaction_at = models.DateTimeField(blank=True, null=True)
    last_followup_at = models.DateTimeField(blank=True, null=True)
    user_edited_fields = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # Set explicitly by every bulk write (bulk_update skips auto_now).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["owner", "-relationship_score", "-created_at"],
                name="contact_owner_score",
            ),
            models.Index(
                fields=["owner", "priority_level", "last_interaction_at"],
                name="contact_owner_priority_last",
            ),
            models.Index(
                fields=["owner", "last_interaction_at"], name="contact_owner_last"
            ),
            models.Index(
                fields=["owner", "birthday_month", "birthday_day"],
                name="contact_owner_bday",
            ),
            models.Index(
                fields=["owner", "linkedin_url_key"], name="contact_owner_li_url"
            ),
            models.Index(
                fields=["owner", "linkedin_profile_id"], name="contact_owner_li_id"
            ),
            models.Index(
                fields=["owner", "google_resource_name"], name="contact_owner_gres"
            ),
            models.Index(
                fields=["owner", "twitter_user_id"], name="contact_owner_tw_id"
            ),
            models.Index(fields=["owner", "-created_at"], name="contact_owner_created"),
            # The push's name fallback compares names lower-cased and as
            # spelled; without these its single lookup scans every contact.
            models.Index(
                F("owner"), Lower("full_name"), name="contact_owner_name_lower"
            ),
            models.Index(fields=["owner", "full_name"], name="contact_owner_name"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(relationship_score__lte=10),
                name="contact_score_at_most_10",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or (self.emails[0] if self.emails else str(self.id))

    @property
    def birthday_value(self) -> Birthday | None:
        if self.birthday is None:
            return None
        return Birthday.from_storage(self.birthday, self.birthday_year_known)

    @property
    def is_archived(self) -> bool:
        return self.priority_level == PRIORITY_ARCHIVED


class ContactEmail(models.Model):
    """One address of a contact, normalised for matching (trimmed, lower-case)."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="email_addresses"
    )
    address = models.CharField(max_length=320)

    class Meta:
        indexes = [models.Index(fields=["owner", "address"], name="email_owner_addr")]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "address"], name="email_unique_per_contact"
            )
        ]

    def __str__(self) -> str:
        return self.address


class ContactTag(models.Model):
    """One lower-cased tag of a contact, for the tag filter and tag cloud."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="tag_rows"
    )
    name = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["owner", "name"], name="tag_owner_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "name"], name="tag_unique_per_contact"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Interaction(models.Model):
    DIRECTION_CHOICES = [
        ("inbound", "Inbound"),
        ("outbound", "Outbound"),
        ("mutual", "Mutual"),
        ("event", "Event"),
    ]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="interactions"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="interactions"
    )
    platform = models.CharField(max_length=32)
    direction = models.CharField(max_length=10, choices=DIRECTION_CHOICES)
    content_preview = models.TextField(blank=True, null=True)
    raw_reference_id = models.CharField(max_length=500)
    is_read_by_recipient = models.BooleanField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["contact", "occurred_at"], name="interaction_contact_time"
            ),
            models.Index(
                fields=["owner", "occurred_at"], name="interaction_owner_time"
            ),
        ]
        constraints = [
            # The dedup key: a re-run or a re-push can never insert twice.
            models.UniqueConstraint(
                fields=["owner", "platform", "raw_reference_id"],
                name="interaction_unique_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.direction} {self.occurred_at:%Y-%m-%d}"


class FollowUpSuggestion(models.Model):
    STATUS_CHOICES = [
        ("pending", "Pending"),
        ("snoozed", "Snoozed"),
        ("sent", "Sent"),
        ("dismissed", "Dismissed"),
    ]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="suggestions"
    )
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default="pending")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "status"], name="suggestion_owner_status")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.status}"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications"
    )
    notification_type = models.CharField(max_length=32)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True, null=True)
    read = models.BooleanField(default=False)
    link = models.CharField(max_length=255, blank=True, null=True)
    # Set for notifications that must fire once only (a birthday reminder
    # for a given date, "reconnect Google" for a given grant).
    dedup_key = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["owner", "read", "-created_at"], name="notification_owner"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "dedup_key"],
                condition=~models.Q(dedup_key=""),
                name="notification_unique_dedup_key",
            )
        ]

    def __str__(self) -> str:
        return self.title


# --- browser extension pairing (appended by the accounts/auth work) --------


class ExtensionPairing(models.Model):
    """A short code that hands one extension token to the browser extension.

    The web user registers the code; the extension polls with it and is
    given its token once. No token is stored here: it is minted when the
    code is claimed, so a leaked table holds nothing usable.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=20, unique=True)
    owner = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="extension_pairings"
    )
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(blank=True, null=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code


class ExtensionAccess(models.Model):
    """Whether a user's extension is paired, and which extension tokens still work.

    Every extension token carries the ``token_version`` it was minted with;
    unpairing increments it, which revokes all of them at once.
    """

    owner = models.OneToOneField(
        User,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="extension_access",
    )
    paired_at = models.DateTimeField(blank=True, null=True)
    token_version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.owner_id} v{self.token_version}"
