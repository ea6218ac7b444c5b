"""The contact API's JSON shapes: ContactResponse (spec §2.10), writes, queries."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.birthdays import Birthday, BirthdayError
from contacts.models import PRIORITY_CHOICES, Contact
from contacts.selectors import (
    BIRTHDAY_WINDOW_MAX,
    DEFAULT_SORT,
    FORECAST_DAYS_MAX,
    SORTS,
)

LIMIT_MAX = 50
LIMIT_DEFAULT = 10

# ContactResponse keys, in the original's order, plus our birthday_text.
CONTACT_FIELDS = (
    "id",
    "user_id",
    "organization_id",
    "full_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "company",
    "title",
    "twitter_handle",
    "twitter_bio",
    "telegram_username",
    "telegram_bio",
    "location",
    "linkedin_url",
    "linkedin_profile_id",
    "linkedin_headline",
    "linkedin_bio",
    "avatar_url",
    "birthday",
    "birthday_text",
    "tags",
    "notes",
    "priority_level",
    "source",
    "relationship_score",
    "interaction_count",
    "last_interaction_at",
    "last_followup_at",
    "user_edited_fields",
    "created_at",
    "updated_at",
)


class ContactSerializer(serializers.ModelSerializer):
    """ContactResponse: the contact as list, detail, birthdays and overdue show it."""

    user_id = serializers.UUIDField(source="owner_id", read_only=True)
    organization_id = serializers.SerializerMethodField()
    birthday = serializers.SerializerMethodField()
    emails = serializers.ListField(child=serializers.CharField(), read_only=True)
    phones = serializers.ListField(child=serializers.CharField(), read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    user_edited_fields = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = CONTACT_FIELDS
        read_only_fields = CONTACT_FIELDS

    # Nullable: it is always null, and the schema said it never was.
    @extend_schema_field({"type": "string", "format": "uuid", "nullable": True})
    def get_organization_id(self, contact: Contact) -> None:
        # Organisations are not modelled; the key stays for the original's
        # clients, always null.
        return None

    @extend_schema_field(
        {"type": "string", "nullable": True, "example": "1990-10-29 or 10-29"}
    )
    def get_birthday(self, contact: Contact) -> str | None:
        value = contact.birthday_value
        return value.to_api() if value else None

    def get_user_edited_fields(self, contact: Contact) -> list[str]:
        return list(contact.user_edited_fields or [])


class BirthdayItemSerializer(ContactSerializer):
    """A contact with their next birthday; ``age`` only when the year is known."""

    days_until_birthday = serializers.IntegerField(
        source="birthday_days_until", read_only=True
    )
    next_birthday = serializers.SerializerMethodField()
    age = serializers.SerializerMethodField()

    class Meta(ContactSerializer.Meta):
        fields = (*CONTACT_FIELDS, "days_until_birthday", "next_birthday", "age")
        read_only_fields = fields

    def _next(self, contact: Contact) -> dt.date:
        today: dt.date = self.context["today"]
        return today + dt.timedelta(days=contact.birthday_days_until)

    @extend_schema_field(OpenApiTypes.DATE)
    def get_next_birthday(self, contact: Contact) -> str:
        return self._next(contact).isoformat()

    @extend_schema_field(OpenApiTypes.INT)
    def get_age(self, contact: Contact) -> int | None:
        if not contact.birthday_year_known:
            return None
        return self._next(contact).year - contact.birthday.year

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data["age"] is None:
            del data["age"]
        return data


class OverdueItemSerializer(ContactSerializer):
    days_overdue = serializers.IntegerField(read_only=True)
    days_since_interaction = serializers.IntegerField(read_only=True)
    threshold_days = serializers.IntegerField(read_only=True)

    class Meta(ContactSerializer.Meta):
        fields = (
            *CONTACT_FIELDS,
            "days_overdue",
            "days_since_interaction",
            "threshold_days",
        )
        read_only_fields = fields


class OverdueForecastItemSerializer(ContactSerializer):
    """A contact who becomes overdue on ``overdue_on``, and why."""

    overdue_on = serializers.SerializerMethodField()
    days_until_overdue = serializers.IntegerField(read_only=True)
    days_since_interaction = serializers.IntegerField(read_only=True)
    threshold_days = serializers.IntegerField(read_only=True)

    class Meta(ContactSerializer.Meta):
        fields = (
            *CONTACT_FIELDS,
            "overdue_on",
            "days_until_overdue",
            "days_since_interaction",
            "threshold_days",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATE)
    def get_overdue_on(self, contact: Contact) -> str:
        today: dt.date = self.context["today"]
        return (today + dt.timedelta(days=contact.days_until_overdue)).isoformat()


# --- writes --------------------------------------------------------------------


@extend_schema_field({"type": "string", "nullable": True, "example": "1990-10-29"})
class BirthdayField(serializers.Field):
    """``YYYY-MM-DD``, or ``MM-DD`` when the year is unknown; a real date only."""

    default_error_messages = {"invalid": "use YYYY-MM-DD, or MM-DD without a year"}

    def to_internal_value(self, data) -> Birthday | None:
        if data == "":
            return None
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return Birthday.from_api(data)
        except BirthdayError as exc:
            raise serializers.ValidationError(f"{data!r}: {exc}") from exc

    def to_representation(self, value: Birthday | None) -> str | None:
        return value.to_api() if value else None


class ContactWriteSerializer(serializers.ModelSerializer):
    """Fields a client may set; only those present are written (PUT as PATCH).

    ``birthday`` becomes the date column plus ``birthday_year_known``.
    """

    emails = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False
    )
    phones = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    birthday = BirthdayField(required=False, allow_null=True)
    priority_level = serializers.ChoiceField(choices=PRIORITY_CHOICES, required=False)

    class Meta:
        model = Contact
        fields = (
            "full_name",
            "given_name",
            "family_name",
            "emails",
            "phones",
            "company",
            "title",
            "twitter_handle",
            "twitter_bio",
            "telegram_username",
            "telegram_bio",
            "location",
            "linkedin_url",
            "linkedin_profile_id",
            "linkedin_headline",
            "linkedin_bio",
            "avatar_url",
            "birthday",
            "tags",
            "notes",
            "priority_level",
            "source",
        )

    def validate_telegram_username(self, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip().lstrip("@").lower() or None

    def validate(self, attrs: dict) -> dict:
        if "birthday" in attrs:
            value: Birthday | None = attrs["birthday"]
            attrs["birthday"] = value.to_date() if value else None
            attrs["birthday_year_known"] = value is None or value.year is not None
        return attrs


# --- query parameters ----------------------------------------------------------


class ContactListQuerySerializer(serializers.Serializer):
    sort = serializers.ChoiceField(choices=SORTS, default=DEFAULT_SORT)


def _limit_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=LIMIT_MAX,
        default=LIMIT_DEFAULT,
        help_text=f"How many to return (1-{LIMIT_MAX}).",
    )


class BirthdaysQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=BIRTHDAY_WINDOW_MAX,
        default=7,
        help_text="Window length in days, starting today (1-366).",
    )
    limit = _limit_field()


class OverdueQuerySerializer(serializers.Serializer):
    limit = _limit_field()
    forecast_days = serializers.IntegerField(
        min_value=1,
        max_value=FORECAST_DAYS_MAX,
        required=False,
        help_text="Instead list who becomes overdue within this many days (1-90).",
    )


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    strong = serializers.IntegerField()
    active = serializers.IntegerField()
    dormant = serializers.IntegerField()
    interactions_this_week = serializers.IntegerField()
    interactions_last_week = serializers.IntegerField()
    active_last_week = serializers.IntegerField()


class _DimensionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    max = serializers.IntegerField()


class _DimensionsSerializer(serializers.Serializer):
    reciprocity = _DimensionSerializer()
    recency = _DimensionSerializer()
    frequency = _DimensionSerializer()
    breadth = _DimensionSerializer()
    tenure = _DimensionSerializer()


class _ActivityStatsSerializer(serializers.Serializer):
    inbound_365d = serializers.IntegerField()
    outbound_365d = serializers.IntegerField()
    count_30d = serializers.IntegerField()
    count_90d = serializers.IntegerField()
    platforms = serializers.ListField(child=serializers.CharField())
    interaction_count = serializers.IntegerField()
    first_interaction_at = serializers.DateTimeField(allow_null=True)


class _MonthCountSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, in your time zone.")
    count = serializers.IntegerField()


class ActivitySerializer(serializers.Serializer):
    score = serializers.IntegerField()
    dimensions = _DimensionsSerializer()
    stats = _ActivityStatsSerializer()
    monthly_trend = _MonthCountSerializer(many=True)


class RecalculateSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="Contacts rescored.")
    changed = serializers.IntegerField(help_text="Contacts whose values changed.")
