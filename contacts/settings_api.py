"""The settings API: follow-up thresholds per priority, and per-provider sync switches.

``/settings/priority`` reads and writes ``User.priority_*_days`` (7..365
days each). ``/settings/sync`` merges the stored ``User.sync_settings`` over
the defaults per provider; a PUT changes only the providers and keys it
names. Both writes store the whole new value (the original mutated its
JSON in place, so a second write could be lost).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from contacts.models import (
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    THRESHOLD_MAX_DAYS,
    THRESHOLD_MIN_DAYS,
    User,
    default_sync_settings,
)
from crm.envelope import envelope, enveloped_schema

TAG = "settings"
SCHEDULES = ("6h", "12h", "daily", "manual")
THRESHOLD_FIELDS = {
    PRIORITY_HIGH: "priority_high_days",
    PRIORITY_MEDIUM: "priority_medium_days",
    PRIORITY_LOW: "priority_low_days",
}


def _threshold() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=THRESHOLD_MIN_DAYS, max_value=THRESHOLD_MAX_DAYS
    )


class PrioritySettingsSerializer(serializers.Serializer):
    high = _threshold()
    medium = _threshold()
    low = _threshold()


class PlatformSyncSettingsSerializer(serializers.Serializer):
    auto_sync = serializers.BooleanField(required=False)
    schedule = serializers.ChoiceField(choices=SCHEDULES, required=False)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                f"unknown setting {unknown[0]!r}; expected auto_sync or schedule"
            )
        return super().to_internal_value(data)


class SyncSettingsSerializer(serializers.Serializer):
    """One optional block per provider of ``default_sync_settings``."""

    def get_fields(self) -> dict:
        return {
            platform: PlatformSyncSettingsSerializer(required=False)
            for platform in default_sync_settings()
        }

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            message = (
                f"unknown provider {unknown[0]!r}; expected one of "
                f"{', '.join(self.fields)}"
            )
            # A root serializer's errors must be a dict.
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [message]}
            )
        return super().to_internal_value(data)


def priority_settings(user: User) -> dict[str, int]:
    return dict(user.priority_thresholds)


def priority_settings_update(*, user: User, values: dict[str, int]) -> dict[str, int]:
    """Store the three thresholds of ``user``; return them."""
    for priority, field in THRESHOLD_FIELDS.items():
        setattr(user, field, values[priority])
    user.save(update_fields=[*THRESHOLD_FIELDS.values(), "updated_at"])
    return priority_settings(user)


def sync_settings(user: User) -> dict[str, dict]:
    """Return every provider's settings: the stored ones over the defaults."""
    stored = user.sync_settings if isinstance(user.sync_settings, dict) else {}
    merged = {}
    for platform, defaults in default_sync_settings().items():
        entry = stored.get(platform)
        merged[platform] = {**defaults, **(entry if isinstance(entry, dict) else {})}
    return merged


def sync_settings_update(*, user: User, changes: dict[str, dict]) -> dict[str, dict]:
    """Merge ``changes`` (provider -> keys) into ``user``'s settings; return all."""
    merged = sync_settings(user)
    for platform, values in changes.items():
        merged[platform] = {**merged[platform], **values}
    # A new dict, assigned whole: nothing depends on JSON change tracking.
    user.sync_settings = merged
    user.save(update_fields=["sync_settings", "updated_at"])
    return sync_settings(user)


class PrioritySettingsApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Days without contact after which each priority is overdue",
        responses=enveloped_schema(
            "PriorityReadResponse", PrioritySettingsSerializer()
        ),
    )
    def get(self, request: Request) -> Response:
        return envelope(priority_settings(request.user))

    @extend_schema(
        tags=[TAG],
        summary="Set all three thresholds (each 7..365 days)",
        request=PrioritySettingsSerializer,
        responses=enveloped_schema(
            "PriorityWrittenResponse", PrioritySettingsSerializer()
        ),
    )
    def put(self, request: Request) -> Response:
        body = PrioritySettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return envelope(
            priority_settings_update(user=request.user, values=body.validated_data)
        )


class SyncSettingsApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Sync switch and schedule per provider",
        responses=enveloped_schema("SyncSettingsResponse", OpenApiTypes.OBJECT),
    )
    def get(self, request: Request) -> Response:
        return envelope(sync_settings(request.user))

    @extend_schema(
        tags=[TAG],
        summary="Change some providers' sync settings",
        request=SyncSettingsSerializer,
        responses=enveloped_schema("SyncSettingsWrittenResponse", OpenApiTypes.OBJECT),
    )
    def put(self, request: Request) -> Response:
        body = SyncSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return envelope(
            sync_settings_update(user=request.user, changes=body.validated_data)
        )

    patch = put
