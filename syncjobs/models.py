"""Provider connections, sync runs and the per-user sync lock."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from syncjobs.fields import EncryptedTextField

PROVIDER_GMAIL = "gmail"
PROVIDER_GOOGLE_CONTACTS = "google_contacts"
PROVIDER_GOOGLE_CALENDAR = "google_calendar"
PROVIDER_TWITTER = "twitter"
PROVIDER_LINKEDIN = "linkedin"
PROVIDER_IMPORT = "import"
PROVIDER_SCORING = "scoring"
PLATFORM_CHOICES = [
    (PROVIDER_GMAIL, "Gmail"),
    (PROVIDER_GOOGLE_CONTACTS, "Google Contacts"),
    (PROVIDER_GOOGLE_CALENDAR, "Google Calendar"),
    (PROVIDER_TWITTER, "Twitter/X"),
    (PROVIDER_LINKEDIN, "LinkedIn"),
    (PROVIDER_IMPORT, "File import"),
    (PROVIDER_SCORING, "Rescoring"),
]

TRIGGER_SCHEDULED = "scheduled"
TRIGGER_MANUAL = "manual"
TRIGGER_WEBHOOK = "webhook"
TRIGGER_IMPORT = "import"
TRIGGER_CHOICES = [
    (TRIGGER_SCHEDULED, "Scheduled"),
    (TRIGGER_MANUAL, "Manual"),
    (TRIGGER_WEBHOOK, "Webhook"),
    (TRIGGER_IMPORT, "Import"),
]

STATUS_STARTED = "started"
STATUS_SUCCESS = "success"
STATUS_PARTIAL = "partial"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_CHOICES = [
    (STATUS_STARTED, "Started"),
    (STATUS_SUCCESS, "Success"),
    (STATUS_PARTIAL, "Partial"),
    (STATUS_FAILED, "Failed"),
    (STATUS_SKIPPED, "Skipped"),
]


class ProviderAccount(models.Model):
    """One connected account (a Google account, an X account) of a user.

    Tokens are encrypted at rest. ``cursor`` holds what an incremental run
    continues from: Gmail's history id, the People API sync token, the
    newest X DM event id.
    """

    KIND_GOOGLE = "google"
    KIND_TWITTER = "twitter"
    STATUS_CONNECTED = "connected"
    STATUS_REAUTH = "reauth_required"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="provider_accounts",
    )
    kind = models.CharField(
        max_length=16, choices=[(KIND_GOOGLE, "Google"), (KIND_TWITTER, "Twitter/X")]
    )
    account_id = models.CharField(max_length=255, help_text="Email or X user id")
    account_name = models.CharField(max_length=255, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    token_expires_at = models.DateTimeField(blank=True, null=True)
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16,
        choices=[
            (STATUS_CONNECTED, "Connected"),
            (STATUS_REAUTH, "Re-authorisation needed"),
        ],
        default=STATUS_CONNECTED,
    )
    cursor = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "kind", "account_id"], name="provider_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.account_id}"


class SyncRun(models.Model):
    """What one run of a sync, import or push did, with its costs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs"
    )
    platform = models.CharField(max_length=32, choices=PLATFORM_CHOICES)
    sync_type = models.CharField(max_length=16, choices=TRIGGER_CHOICES)
    status = models.CharField(
        max_length=16, choices=STATUS_CHOICES, default=STATUS_STARTED
    )
    account = models.ForeignKey(
        ProviderAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(blank=True, null=True)
    duration_ms = models.PositiveIntegerField(blank=True, null=True)
    records_fetched = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_updated = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    contacts_rescored = models.PositiveIntegerField(default=0)
    query_count = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True, null=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-started_at"], name="syncrun_owner_started"),
            models.Index(
                fields=["owner", "platform", "status"], name="syncrun_owner_platform"
            ),
            # Only the few runs still started: what the beat sweep for runs
            # whose worker died reads (syncjobs.interrupted).
            models.Index(
                fields=["started_at"],
                name="syncrun_open_started",
                condition=models.Q(status=STATUS_STARTED),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.status} {self.started_at:%Y-%m-%d %H:%M}"


class SyncLock(models.Model):
    """A lease on (user, provider): held while a run of that provider works.

    Claimed with a conditional UPDATE (``syncjobs.locks``), so two workers
    racing for it cannot both win.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    platform = models.CharField(max_length=32)
    holder = models.CharField(max_length=64, blank=True, default="")
    locked_until = models.DateTimeField(blank=True, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "platform"], name="synclock_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}:{self.platform}"
