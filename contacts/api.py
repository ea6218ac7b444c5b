"""The contacts REST API: thin views over contacts.selectors and contacts.services.

Each view validates its query or body with a serializer, calls one selector
or service with the signed-in user as owner, and wraps the result in the
``{data, error, meta}`` envelope. Another user's contact id is a 404 on
every endpoint. Bad parameters are 400 (the original answered 422).

The hot reads (list, birthdays, overdue) fetch ``.values()`` rows through
``crm.compiled_sql`` and render them with ``contacts.contact_dicts``:
the serializers' output without their per-field cost. The serializers
still describe those responses in the schema.
"""

from __future__ import annotations

import uuid

from django.utils import timezone
from django_filters import ChoiceFilter, DateFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts import selectors, services
from contacts.contact_dicts import (
    BIRTHDAY_COLUMNS,
    CONTACT_COLUMNS,
    FORECAST_COLUMNS,
    OVERDUE_COLUMNS,
    birthday_item_dicts,
    contact_dicts,
    overdue_forecast_item_dicts,
    overdue_item_dicts,
)
from contacts.filters import ContactFilter, IntegerFilter, StrictBooleanFilter
from contacts.models import Contact
from contacts.scoring import contacts_rescore
from contacts.serializers import (
    ActivitySerializer,
    BirthdayItemSerializer,
    BirthdaysQuerySerializer,
    ContactListQuerySerializer,
    ContactSerializer,
    ContactWriteSerializer,
    OverdueItemSerializer,
    OverdueQuerySerializer,
    RecalculateSerializer,
    StatsSerializer,
)
from crm import compiled_sql
from crm.envelope import (
    EnvelopePagination,
    PageMetaSerializer,
    envelope,
    enveloped_schema,
)

TAG = "contacts"
# A list request with no other parameters is the same SQL for the same
# owner, local date, sort and page, so its statements are kept compiled.
PLAIN_LIST_PARAMETERS = frozenset({"sort", "page", "page_size"})


def _filter_parameters() -> list[OpenApiParameter]:
    """Describe ContactFilter's parameters for the schema, from the FilterSet."""
    types = {
        StrictBooleanFilter: OpenApiTypes.BOOL,
        IntegerFilter: OpenApiTypes.INT,
        DateFilter: OpenApiTypes.DATE,
    }
    parameters = []
    for name, item in ContactFilter.base_filters.items():
        choices = item.extra.get("choices") if isinstance(item, ChoiceFilter) else None
        parameters.append(
            OpenApiParameter(
                name,
                type=types.get(type(item), OpenApiTypes.STR),
                enum=[value for value, _ in choices] if choices else None,
                description=str(item.extra.get("help_text", "")),
            )
        )
    return parameters


FILTER_PARAMETERS = _filter_parameters()
PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="1-100, default 20."),
]


def _query(serializer_class, request: Request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ContactListCreateApi(APIView):
    query_budget = {"GET": 4, "POST": 7}

    @extend_schema(
        tags=[TAG],
        summary="List contacts",
        operation_id="contacts_list",
        description="Filters are ANDed; archived contacts are left out unless "
        "archived_only=true. Every sort ends on the id, so pages never repeat "
        "or skip a contact. sort=birthday is next-birthday order (as "
        "/birthdays), sort=overdue most overdue first (as /overdue); contacts "
        "without a value sort last.",
        parameters=[ContactListQuerySerializer, *FILTER_PARAMETERS, *PAGE_PARAMETERS],
        responses=enveloped_schema(
            "ContactPage", ContactSerializer(many=True), PageMetaSerializer()
        ),
    )
    def get(self, request: Request) -> Response:
        sort = _query(ContactListQuerySerializer, request)["sort"]
        owner = request.user
        now = timezone.now()

        def contacts():
            return selectors.contacts_list(
                owner=owner, filters=request.query_params, sort=sort, now=now
            )

        def page(offset: int, size: int):
            return selectors.contacts_list_page(
                owner=owner,
                filters=request.query_params,
                sort=sort,
                now=now,
                offset=offset,
                size=size,
            )

        pagination = EnvelopePagination()
        if request.query_params.keys() <= PLAIN_LIST_PARAMETERS:
            today = selectors.local_today(owner=owner, now=now)
            key = ("contacts_list", compiled_sql.owner_key(owner), today, sort)
            rows, meta = pagination.paginate_with(
                request,
                count=lambda: compiled_sql.cached_count(key, contacts),
                rows=lambda offset, size: compiled_sql.cached_rows(
                    (*key, offset, size),
                    lambda: page(offset, size),
                    CONTACT_COLUMNS,
                ),
            )
        else:
            # Filters may use the exact time (interaction_days): compiled
            # for this request only.
            rows, meta = pagination.paginate_with(
                request,
                count=lambda: contacts().count(),
                rows=lambda offset, size: compiled_sql.compile_rows(
                    page(offset, size), CONTACT_COLUMNS
                ).dicts(),
            )
        return envelope(contact_dicts(rows), meta)

    @extend_schema(
        tags=[TAG],
        summary="Create a contact",
        operation_id="contacts_create",
        request=ContactWriteSerializer,
        responses={201: enveloped_schema("ContactCreated", ContactSerializer())},
    )
    def post(self, request: Request) -> Response:
        body = ContactWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = services.contact_create(owner=request.user, **body.validated_data)
        return envelope(
            ContactSerializer(contact).data, status_code=status.HTTP_201_CREATED
        )


class ContactDetailApi(APIView):
    query_budget = {"GET": 3, "PUT": 10, "PATCH": 10, "DELETE": 8}

    @extend_schema(
        tags=[TAG],
        summary="Get a contact",
        operation_id="contacts_retrieve",
        responses=enveloped_schema("ContactDetail", ContactSerializer()),
    )
    def get(self, request: Request, contact_id: uuid.UUID) -> Response:
        contact = selectors.contact_get(owner=request.user, contact_id=contact_id)
        return envelope(ContactSerializer(contact).data)

    def _update(self, request: Request, contact_id: uuid.UUID) -> Response:
        contact = selectors.contact_get(owner=request.user, contact_id=contact_id)
        body = ContactWriteSerializer(contact, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, data=body.validated_data)
        return envelope(ContactSerializer(contact).data)

    @extend_schema(
        tags=[TAG],
        summary="Update a contact",
        operation_id="contacts_update",
        description="Only the fields sent are written (as the original's PUT); "
        "each one a sync could fill is recorded in user_edited_fields, so "
        "later syncs never overwrite it.",
        request=ContactWriteSerializer,
        responses=enveloped_schema("ContactUpdated", ContactSerializer()),
    )
    def put(self, request: Request, contact_id: uuid.UUID) -> Response:
        return self._update(request, contact_id)

    @extend_schema(
        tags=[TAG],
        summary="Update some fields of a contact",
        operation_id="contacts_partial_update",
        request=ContactWriteSerializer,
        responses=enveloped_schema("ContactPatched", ContactSerializer()),
    )
    def patch(self, request: Request, contact_id: uuid.UUID) -> Response:
        return self._update(request, contact_id)

    @extend_schema(
        tags=[TAG],
        summary="Delete a contact",
        operation_id="contacts_destroy",
        responses={204: None},
    )
    def delete(self, request: Request, contact_id: uuid.UUID) -> Response:
        contact = selectors.contact_get(owner=request.user, contact_id=contact_id)
        contact.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactIdsApi(APIView):
    query_budget = 3

    @extend_schema(
        tags=[TAG],
        summary="Ids of every contact matching the list filters",
        operation_id="contacts_ids",
        parameters=FILTER_PARAMETERS,
        responses=enveloped_schema(
            "ContactIds", serializers.ListField(child=serializers.UUIDField())
        ),
    )
    def get(self, request: Request) -> Response:
        ids = selectors.contact_ids(
            owner=request.user, filters=request.query_params, now=timezone.now()
        )
        return envelope([str(pk) for pk in ids])


class ContactStatsApi(APIView):
    query_budget = 4

    @extend_schema(
        tags=[TAG],
        summary="Score tiers and the last two weeks' interactions",
        operation_id="contacts_stats",
        responses=enveloped_schema("ContactStats", StatsSerializer()),
    )
    def get(self, request: Request) -> Response:
        return envelope(
            selectors.contacts_stats(owner=request.user, now=timezone.now())
        )


class ContactTagsApi(APIView):
    query_budget = 3

    @extend_schema(
        tags=[TAG],
        summary="Every tag in use (archived contacts included), sorted",
        operation_id="contacts_tags",
        responses=enveloped_schema(
            "ContactTags", serializers.ListField(child=serializers.CharField())
        ),
    )
    def get(self, request: Request) -> Response:
        return envelope(selectors.contact_tags(owner=request.user))


class ContactBirthdaysApi(APIView):
    query_budget = 4

    @extend_schema(
        tags=[TAG],
        summary="Upcoming birthdays",
        operation_id="contacts_birthdays",
        description="Birthdays from today (your local date, from your time zone "
        "setting) to today + days - 1, across the new year; soonest first, then "
        "by name. Birthdays without a year count too; with a year the item also "
        "has age, the age they turn. Feb 29 rule: in a year without Feb 29 the "
        "birthday falls on Feb 28, or on Mar 1 if your leap_day_birthdays_on "
        'setting is "mar1". Archived contacts and text-only birthdays are left '
        "out.",
        parameters=[BirthdaysQuerySerializer],
        responses=enveloped_schema("Birthdays", BirthdayItemSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        query = _query(BirthdaysQuerySerializer, request)
        owner = request.user
        today = selectors.local_today(owner=owner, now=timezone.now())
        days, limit = query["days"], query["limit"]
        rows = compiled_sql.cached_rows(
            ("birthdays", compiled_sql.owner_key(owner), today, days, limit),
            lambda: selectors.contacts_upcoming_birthdays(
                owner=owner, today=today, days=days, limit=limit
            ),
            BIRTHDAY_COLUMNS,
        )
        return envelope(birthday_item_dicts(rows, today=today))


class ContactOverdueApi(APIView):
    query_budget = 4

    @extend_schema(
        tags=[TAG],
        summary="Contacts past their follow-up threshold",
        operation_id="contacts_overdue",
        description="Overdue: more whole days since the last interaction than the "
        "threshold of the contact's priority (your high/medium/low settings), "
        "days counted between calendar days in your time zone. Most overdue "
        "first, then high before medium before low, then name. Archived and "
        "never-contacted contacts are left out. With forecast_days=N, lists "
        "instead who is not overdue yet but becomes overdue within N days "
        "(items of OverdueForecastItem: overdue_on, threshold_days), soonest "
        "first.",
        parameters=[OverdueQuerySerializer],
        responses=enveloped_schema("Overdue", OverdueItemSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        query = _query(OverdueQuerySerializer, request)
        owner = request.user
        now = timezone.now()
        limit = query["limit"]
        # Both selectors use ``now`` only as the owner's local date.
        today = selectors.local_today(owner=owner, now=now)
        owner_key = compiled_sql.owner_key(owner)
        if "forecast_days" in query:
            days = query["forecast_days"]
            rows = compiled_sql.cached_rows(
                ("overdue_forecast", owner_key, today, days, limit),
                lambda: selectors.contacts_overdue_forecast(
                    owner=owner, now=now, days=days, limit=limit
                ),
                FORECAST_COLUMNS,
            )
            return envelope(overdue_forecast_item_dicts(rows, today=today))
        rows = compiled_sql.cached_rows(
            ("overdue", owner_key, today, limit),
            lambda: selectors.contacts_overdue(owner=owner, now=now, limit=limit),
            OVERDUE_COLUMNS,
        )
        return envelope(overdue_item_dicts(rows))


class ContactActivityApi(APIView):
    query_budget = 6

    @extend_schema(
        tags=[TAG],
        summary="A contact's score breakdown and interaction history",
        operation_id="contacts_activity",
        responses=enveloped_schema("ContactActivity", ActivitySerializer()),
    )
    def get(self, request: Request, contact_id: uuid.UUID) -> Response:
        contact = selectors.contact_get(owner=request.user, contact_id=contact_id)
        activity = selectors.contact_activity(
            owner=request.user, contact=contact, now=timezone.now()
        )
        return envelope(ActivitySerializer(activity).data)


class ScoresRecalculateApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Recompute every contact's score now",
        operation_id="contacts_scores_recalculate",
        request=None,
        responses=enveloped_schema("ScoresRecalculated", RecalculateSerializer()),
    )
    def post(self, request: Request) -> Response:
        result = contacts_rescore(contacts=Contact.objects.filter(owner=request.user))
        return envelope({"updated": result.examined, "changed": result.changed})
