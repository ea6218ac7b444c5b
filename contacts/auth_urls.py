"""Sign-in, pairing, notification and settings routes under /api/v1/."""

from django.urls import path

from contacts import auth_api, notifications_api, settings_api

urlpatterns = [
    path("auth/register", auth_api.RegisterApi.as_view(), name="auth-register"),
    path("auth/login", auth_api.LoginApi.as_view(), name="auth-login"),
    path("auth/me", auth_api.MeApi.as_view(), name="auth-me"),
    path(
        "auth/change-password",
        auth_api.ChangePasswordApi.as_view(),
        name="auth-change-password",
    ),
    path("extension/pair", auth_api.ExtensionPairApi.as_view(), name="extension-pair"),
    path(
        "notifications",
        notifications_api.NotificationListApi.as_view(),
        name="notification-list",
    ),
    path(
        "notifications/unread-count",
        notifications_api.NotificationUnreadCountApi.as_view(),
        name="notification-unread-count",
    ),
    path(
        "notifications/read-all",
        notifications_api.NotificationReadAllApi.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<uuid:notification_id>/read",
        notifications_api.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path(
        "settings/priority",
        settings_api.PrioritySettingsApi.as_view(),
        name="settings-priority",
    ),
    path("settings/sync", settings_api.SyncSettingsApi.as_view(), name="settings-sync"),
]
