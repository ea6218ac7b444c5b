"""The sync-history API: a user's own runs, newest first, and per-provider stats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Q, QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.envelope import envelope, enveloped_schema
from syncjobs.models import STATUS_FAILED, STATUS_SUCCESS, SyncRun
from syncjobs.serializers import (
    SyncHistoryQuerySerializer,
    SyncRunSerializer,
    SyncStatsQuerySerializer,
)


def sync_runs_list(*, owner, platform: str = "", status: str = "") -> QuerySet[SyncRun]:
    """Return ``owner``'s runs, newest first, optionally of one platform/status."""
    runs = SyncRun.objects.filter(owner=owner)
    if platform:
        runs = runs.filter(platform=platform)
    if status:
        runs = runs.filter(status=status)
    # id breaks ties between runs started in the same microsecond, so
    # offset pages never repeat or skip a row.
    return runs.order_by("-started_at", "-id")


def success_rate(*, successes: int, total: int) -> float:
    """Return ``successes`` in percent of ``total``, one decimal, halves up."""
    if not total:
        return 0.0
    percent = Decimal(successes * 100) / Decimal(total)
    return float(percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _iso(moment) -> str | None:
    # The same rendering as the runs' own timestamps in the list.
    return serializers.DateTimeField().to_representation(moment) if moment else None


def sync_runs_stats(*, owner, platform: str = "") -> dict[str, dict]:
    """Return run counts per platform of ``owner``, in one grouped query.

    ``success_count`` and ``failed_count`` count those statuses only; runs
    still started, partial or skipped count in ``total_syncs`` alone.
    """
    rows = (
        sync_runs_list(owner=owner, platform=platform)
        .order_by("platform")
        .values("platform")
        .annotate(
            total=Count("id"),
            successes=Count("id", filter=Q(status=STATUS_SUCCESS)),
            failures=Count("id", filter=Q(status=STATUS_FAILED)),
            last=Max("started_at"),
        )
    )
    return {
        row["platform"]: {
            "total_syncs": row["total"],
            "success_count": row["successes"],
            "failed_count": row["failures"],
            "success_rate": success_rate(
                successes=row["successes"], total=row["total"]
            ),
            "last_sync": _iso(row["last"]),
        }
        for row in rows
    }


class SyncHistoryApi(APIView):
    """``GET /api/v1/sync-history?platform=&status=&limit=50&offset=0``."""

    query_budget = 4

    @extend_schema(
        tags=["sync history"],
        operation_id="sync_history_list",
        parameters=[SyncHistoryQuerySerializer],
        responses=enveloped_schema(
            "SyncHistoryPage",
            SyncRunSerializer(many=True),
            inline_serializer(
                name="SyncHistoryMeta",
                fields={
                    "total": serializers.IntegerField(),
                    "limit": serializers.IntegerField(),
                    "offset": serializers.IntegerField(),
                },
            ),
        ),
    )
    def get(self, request: Request):
        query = SyncHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        limit, offset = params["limit"], params["offset"]

        runs = sync_runs_list(
            owner=request.user,
            platform=params.get("platform", ""),
            status=params.get("status", ""),
        )
        total = runs.count()
        page = runs[offset : offset + limit] if offset < total else []
        return envelope(
            SyncRunSerializer(page, many=True).data,
            {"total": total, "limit": limit, "offset": offset},
        )


class SyncHistoryStatsApi(APIView):
    """``GET /api/v1/sync-history/stats?platform=``: counts per platform."""

    query_budget = 3

    @extend_schema(
        tags=["sync history"],
        operation_id="sync_history_stats",
        parameters=[SyncStatsQuerySerializer],
        responses=enveloped_schema(
            "SyncHistoryStats",
            serializers.DictField(
                child=inline_serializer(
                    name="PlatformSyncStats",
                    fields={
                        "total_syncs": serializers.IntegerField(),
                        "success_count": serializers.IntegerField(),
                        "failed_count": serializers.IntegerField(),
                        "success_rate": serializers.FloatField(),
                        "last_sync": serializers.DateTimeField(allow_null=True),
                    },
                )
            ),
        ),
    )
    def get(self, request: Request):
        query = SyncStatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stats = sync_runs_stats(
            owner=request.user, platform=query.validated_data.get("platform", "")
        )
        return Response(stats)
