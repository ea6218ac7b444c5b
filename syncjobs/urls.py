"""Sync URLs under /api/v1/: the sync history and its stats."""

from django.urls import path

from syncjobs.api import SyncHistoryApi, SyncHistoryStatsApi

urlpatterns = [
    path("sync-history", SyncHistoryApi.as_view(), name="sync-history"),
    path(
        "sync-history/stats", SyncHistoryStatsApi.as_view(), name="sync-history-stats"
    ),
]
