"""Admin for sync runs (a read-only timeline) and connected provider accounts."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from syncjobs.models import TRIGGER_MANUAL, ProviderAccount, SyncRun

# Never rendered, never even read (and so never decrypted) by the admin.
TOKEN_FIELDS = ("access_token", "refresh_token")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    """What every run did: nobody edits history, only superusers delete it."""

    list_display = (
        "started_at",
        "owner",
        "platform",
        "sync_type",
        "status",
        "duration_ms",
        "records_fetched",
        "records_created",
        "records_updated",
        "records_skipped",
        "records_failed",
        "contacts_rescored",
        "query_count",
    )
    list_filter = ("platform", "status", "sync_type")
    date_hierarchy = "started_at"
    search_fields = ("owner__email",)
    list_select_related = ("owner",)
    ordering = ("-started_at",)
    fieldsets = (
        (None, {"fields": ("owner", "account", "platform", "sync_type", "status")}),
        ("Timing", {"fields": ("started_at", "completed_at", "duration_ms")}),
        (
            "Rows",
            {
                "fields": (
                    "records_fetched",
                    "records_created",
                    "records_updated",
                    "records_skipped",
                    "records_failed",
                    "contacts_rescored",
                    "query_count",
                )
            },
        ),
        ("Outcome", {"fields": ("error_message", "details_pretty")}),
    )
    readonly_fields = ("details_pretty",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "account")
            .defer(*(f"account__{name}" for name in TOKEN_FIELDS))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="details")
    def details_pretty(self, obj: SyncRun):
        if not obj.details:
            return "-"
        text = json.dumps(obj.details, indent=2, sort_keys=True, default=str)
        return format_html("<pre>{}</pre>", text)


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    """Connected accounts: status and cursor visible, tokens never."""

    list_display = (
        "account_id",
        "owner",
        "kind",
        "status",
        "token_expires_at",
        "updated_at",
    )
    list_filter = ("kind", "status")
    search_fields = ("account_id", "account_name", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    exclude = TOKEN_FIELDS
    readonly_fields = ("token_expires_at", "scopes", "created_at", "updated_at")
    actions = ("run_sync_now",)

    def get_queryset(self, request):
        # Deferred, the encrypted columns are not even selected; a save
        # from the admin then writes only the loaded columns.
        return super().get_queryset(request).defer(*TOKEN_FIELDS)

    @admin.action(description="Run a sync now")
    def run_sync_now(self, request, queryset):
        from syncjobs.tasks import account_sync_queue

        queued, synced, needs_reauth = [], 0, []
        for account in queryset.order_by("pk"):
            if account.status != ProviderAccount.STATUS_CONNECTED:
                needs_reauth.append(str(account))
                continue
            queued.extend(account_sync_queue(account=account, trigger=TRIGGER_MANUAL))
            synced += 1
        if queued:
            self.message_user(
                request,
                f"Queued {len(queued)} sync(s) for {synced} account(s): "
                + ", ".join(name.rsplit(".", 1)[-1] for name in queued),
                messages.SUCCESS,
            )
        if needs_reauth:
            self.message_user(
                request,
                "Not synced, the user must reconnect first: " + ", ".join(needs_reauth),
                messages.WARNING,
            )
