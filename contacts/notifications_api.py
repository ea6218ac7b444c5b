"""The notifications API: a user's own notices, newest first, and marking them read.

Sync failures, reconnect requests and connection notices all arrive here
(``contacts.models.Notification``). Another user's notification id is a 404.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.models import Notification, User
from crm.envelope import (
    EnvelopePagination,
    PageMetaSerializer,
    envelope,
    enveloped_schema,
)

TAG = "notifications"


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = (
            "id",
            "notification_type",
            "title",
            "body",
            "read",
            "link",
            "created_at",
        )
        read_only_fields = fields


class NotificationListQuerySerializer(serializers.Serializer):
    unread_only = serializers.BooleanField(required=False, default=False)
    link = serializers.CharField(required=False, allow_blank=True, max_length=255)


class UnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class ReadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    read = serializers.BooleanField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.BooleanField()
    count = serializers.IntegerField()


def notifications_list(
    *, owner: User, unread_only: bool = False, link: str = ""
) -> QuerySet[Notification]:
    """Return ``owner``'s notifications, newest first (id breaks ties)."""
    rows = Notification.objects.filter(owner=owner)
    if unread_only:
        rows = rows.filter(read=False)
    if link:
        rows = rows.filter(link=link)
    return rows.order_by("-created_at", "-id")


def notifications_mark_read(*, owner: User) -> int:
    """Mark all of ``owner``'s unread notifications read; return how many."""
    return Notification.objects.filter(owner=owner, read=False).update(read=True)


class NotificationListApi(APIView):
    """``GET /api/v1/notifications?unread_only=&link=&page=&page_size=``."""

    @extend_schema(
        tags=[TAG],
        summary="Your notifications, newest first",
        parameters=[NotificationListQuerySerializer],
        responses=enveloped_schema(
            "NotificationPageResponse",
            NotificationSerializer(many=True),
            PageMetaSerializer(),
        ),
    )
    def get(self, request: Request) -> Response:
        query = NotificationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows, meta = EnvelopePagination().paginate(
            notifications_list(owner=request.user, **query.validated_data), request
        )
        return envelope(NotificationSerializer(rows, many=True).data, meta)


class NotificationUnreadCountApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="How many notifications are unread",
        responses=enveloped_schema("UnreadCountResponse", UnreadCountSerializer()),
    )
    def get(self, request: Request) -> Response:
        count = Notification.objects.filter(owner=request.user, read=False).count()
        return envelope({"count": count})


class NotificationReadApi(APIView):
    """``POST`` (or the original's ``PUT``) ``/notifications/{id}/read``."""

    @extend_schema(
        tags=[TAG],
        summary="Mark one notification read",
        request=None,
        responses=enveloped_schema("NotificationReadResponse", ReadSerializer()),
    )
    def post(self, request: Request, notification_id) -> Response:
        notification = get_object_or_404(
            Notification.objects.filter(owner=request.user), pk=notification_id
        )
        if not notification.read:
            notification.read = True
            notification.save(update_fields=["read"])
        return envelope({"id": str(notification.pk), "read": True})

    put = post


class NotificationReadAllApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Mark every notification read",
        request=None,
        responses=enveloped_schema("NotificationsMarkedResponse", MarkedSerializer()),
    )
    def post(self, request: Request) -> Response:
        marked = notifications_mark_read(owner=request.user)
        return envelope({"marked": True, "count": marked})

    put = post
