"""The contact list's filter parameters (spec §4.1) as a django-filter FilterSet.

Unlike the original, a value that cannot be read (a malformed date, an
unknown score tier or priority, a non-boolean flag) is an error naming the
parameter, not silently ignored: a typo must not quietly widen the list.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat

from contacts.models import (
    PRIORITY_ARCHIVED,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    Contact,
    ContactEmail,
    ContactTag,
    Interaction,
    User,
)
from contacts.services import normalise_tags

SCORE_TIERS = {
    "strong": Q(relationship_score__gte=8),
    "active": Q(relationship_score__gte=4, relationship_score__lte=7),
    "dormant": Q(relationship_score__lte=3),
}
# Columns the search looks in, besides e-mail addresses, the "given family"
# pair and interaction previews.
SEARCH_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "company",
    "title",
    "twitter_handle",
    "telegram_username",
    "twitter_bio",
    "telegram_bio",
    "linkedin_headline",
    "linkedin_bio",
    "notes",
    "source",
    "phones",
)
INTERACTION_DAYS_MAX = 365


class StrictBooleanField(forms.Field):
    """A true/false query value; anything else is an error, not "unset"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(
            "must be true or false, got %(value)r",
            code="invalid",
            params={"value": value},
        )


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class IntegerFilter(django_filters.Filter):
    field_class = forms.IntegerField


def _choice_errors(choices: list[str]) -> dict[str, str]:
    listed = ", ".join(choices)
    return {"invalid_choice": f"must be one of {listed}, got %(value)r"}


_DATE_ERRORS = {"invalid": "use the form YYYY-MM-DD"}


class ContactFilter(django_filters.FilterSet):
    """Filter one owner's contacts; all parameters are ANDed.

    Archived contacts are left out unless ``archived_only`` is true, which
    keeps only them. Calendar dates (``date_from``, ``date_to``) are days
    in the owner's time zone.
    """

    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Case-insensitive substring of names, e-mails, company, title, "
        "handles, bios, notes, source, phones or an interaction preview.",
    )
    tag = django_filters.CharFilter(
        method="filter_tag", help_text="A tag (compared lower-cased)."
    )
    source = django_filters.CharFilter(
        field_name="source", help_text="Exact source, e.g. google or csv."
    )
    score = django_filters.ChoiceFilter(
        choices=[(name, name) for name in SCORE_TIERS],
        method="filter_score",
        error_messages=_choice_errors(list(SCORE_TIERS)),
        help_text="strong (8-10), active (4-7) or dormant (0-3).",
    )
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        input_formats=["%Y-%m-%d"],
        error_messages=_DATE_ERRORS,
        help_text="Created on or after this day (YYYY-MM-DD, your time zone).",
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        input_formats=["%Y-%m-%d"],
        error_messages=_DATE_ERRORS,
        help_text="Created on or before this day (YYYY-MM-DD, your time zone).",
    )
    has_interactions = StrictBooleanFilter(
        method="filter_has_interactions",
        help_text="true: ever contacted; false: never contacted.",
    )
    interaction_days = IntegerFilter(
        method="filter_interaction_days",
        min_value=1,
        max_value=INTERACTION_DAYS_MAX,
        help_text="Last interaction within this many days (1-365).",
    )
    has_birthday = StrictBooleanFilter(
        method="filter_has_birthday",
        help_text="true: has a birthday date (text-only birthdays do not count).",
    )
    priority = django_filters.ChoiceFilter(
        field_name="priority_level",
        choices=[(p, p) for p in (PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_LOW)],
        error_messages=_choice_errors([PRIORITY_HIGH, PRIORITY_MEDIUM, PRIORITY_LOW]),
        help_text="high, medium or low (archived contacts: archived_only=true).",
    )
    archived_only = StrictBooleanFilter(
        method="filter_archived_only",
        help_text="true: only archived contacts; default false: archived left out.",
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def __init__(
        self,
        data=None,
        queryset: QuerySet[Contact] | None = None,
        *,
        owner: User,
        now: dt.datetime,
        **kwargs,
    ) -> None:
        super().__init__(data=data, queryset=queryset, **kwargs)
        self.owner = owner
        self.now = now

    def filter_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("archived_only") is None:
            queryset = self.filter_archived_only(queryset, "archived_only", False)
        return queryset

    def _local_midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.owner.tzinfo)

    def filter_search(self, queryset, name, value: str):
        # icontains escapes %, _ and \ in the term itself, so they match
        # literally (the original escaped them by hand).
        text = Q()
        for field_name in SEARCH_FIELDS:
            text |= Q(**{f"{field_name}__icontains": value})
        emails = ContactEmail.objects.filter(
            contact=OuterRef("pk"), address__icontains=value
        )
        previews = Interaction.objects.filter(
            contact=OuterRef("pk"), content_preview__icontains=value
        )
        return queryset.annotate(
            search_given_family=Concat(
                Coalesce("given_name", Value("")),
                Value(" "),
                Coalesce("family_name", Value("")),
                output_field=CharField(),
            )
        ).filter(
            text
            | Q(search_given_family__icontains=value)
            | Q(Exists(emails))
            | Q(Exists(previews))
        )

    def filter_tag(self, queryset, name, value: str):
        tags = normalise_tags([value])
        if not tags:
            return queryset
        rows = ContactTag.objects.filter(contact=OuterRef("pk"), name=tags[0])
        return queryset.filter(Exists(rows))

    def filter_score(self, queryset, name, value: str):
        return queryset.filter(SCORE_TIERS[value])

    def filter_date_from(self, queryset, name, value: dt.date):
        return queryset.filter(created_at__gte=self._local_midnight(value))

    def filter_date_to(self, queryset, name, value: dt.date):
        next_day = value + dt.timedelta(days=1)
        return queryset.filter(created_at__lt=self._local_midnight(next_day))

    def filter_has_interactions(self, queryset, name, value: bool):
        return queryset.filter(last_interaction_at__isnull=not value)

    def filter_interaction_days(self, queryset, name, value: int):
        since = self.now - dt.timedelta(days=value)
        return queryset.filter(last_interaction_at__gte=since)

    def filter_has_birthday(self, queryset, name, value: bool):
        return queryset.filter(birthday__isnull=not value)

    def filter_archived_only(self, queryset, name, value: bool):
        if value:
            return queryset.filter(priority_level=PRIORITY_ARCHIVED)
        return queryset.exclude(priority_level=PRIORITY_ARCHIVED)
