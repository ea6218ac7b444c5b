"""Input and output shapes of the sync-history API (the original's sync_events)."""

from __future__ import annotations

import json

from rest_framework import serializers

from syncjobs.models import SyncRun

HISTORY_LIMIT_DEFAULT = 50
HISTORY_LIMIT_MAX = 200


class SyncHistoryQuerySerializer(serializers.Serializer):
    platform = serializers.CharField(required=False, allow_blank=True, max_length=32)
    status = serializers.CharField(required=False, allow_blank=True, max_length=16)
    limit = serializers.IntegerField(
        required=False,
        default=HISTORY_LIMIT_DEFAULT,
        min_value=1,
        max_value=HISTORY_LIMIT_MAX,
    )
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


class SyncStatsQuerySerializer(serializers.Serializer):
    platform = serializers.CharField(required=False, allow_blank=True, max_length=32)


class SyncRunSerializer(serializers.ModelSerializer):
    """A run with every column of the original's sync event, then ours."""

    user_id = serializers.UUIDField(source="owner_id", read_only=True)
    details = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = (
            "id",
            "user_id",
            "platform",
            "sync_type",
            "status",
            "records_created",
            "records_updated",
            "records_failed",
            "duration_ms",
            "error_message",
            "details",
            "started_at",
            "completed_at",
            "records_fetched",
            "records_skipped",
            "contacts_rescored",
            "query_count",
        )
        read_only_fields = fields

    def get_details(self, run: SyncRun) -> str | None:
        # The original stored details as JSON text and left it NULL when
        # there was nothing to say; its clients parse the string.
        if not run.details:
            return None
        return json.dumps(run.details, default=str)
