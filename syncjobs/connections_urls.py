"""Provider connection, sync trigger and upload routes under /api/v1/.

Included before contacts.urls, so that /contacts/sync/... and
/contacts/import/... are matched here.
"""

from django.urls import path

from syncjobs import connections_api as api
from syncjobs.models import (
    PROVIDER_GMAIL,
    PROVIDER_GOOGLE_CALENDAR,
    PROVIDER_GOOGLE_CONTACTS,
    PROVIDER_TWITTER,
)

SYNC_ROUTES = {
    "google": PROVIDER_GOOGLE_CONTACTS,
    "google-calendar": PROVIDER_GOOGLE_CALENDAR,
    "gmail": PROVIDER_GMAIL,
    "twitter": PROVIDER_TWITTER,
}
IMPORT_ROUTES = (
    "csv",
    "linkedin",
    "linkedin-messages",
    "vcard",
    "mbox",
    "twitter-archive",
)

urlpatterns = [
    path("auth/google/url", api.GoogleAuthUrlApi.as_view(), name="google-auth-url"),
    path(
        "auth/google/callback",
        api.GoogleCallbackApi.as_view(),
        name="google-auth-callback",
    ),
    path(
        "auth/google/accounts",
        api.GoogleAccountsApi.as_view(),
        name="google-accounts",
    ),
    path(
        "auth/google/accounts/<uuid:account_id>",
        api.GoogleAccountDetailApi.as_view(),
        name="google-account-detail",
    ),
    path("auth/twitter/url", api.TwitterAuthUrlApi.as_view(), name="twitter-auth-url"),
    path(
        "auth/twitter/callback",
        api.TwitterCallbackApi.as_view(),
        name="twitter-auth-callback",
    ),
    path(
        "auth/twitter/disconnect",
        api.TwitterDisconnectApi.as_view(),
        name="twitter-disconnect",
    ),
    *(
        path(
            f"contacts/sync/{route}",
            api.SyncTriggerApi.as_view(platform=platform),
            name=f"contact-sync-{route}",
        )
        for route, platform in SYNC_ROUTES.items()
    ),
    *(
        path(
            f"contacts/import/{kind}",
            api.ImportUploadApi.as_view(kind=kind),
            name=f"contact-import-{kind}",
        )
        for kind in IMPORT_ROUTES
    ),
]
