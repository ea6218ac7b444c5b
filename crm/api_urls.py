"""Everything under /api/v1/, one include per app.

The accounts and connections routes come first: they own the fixed paths
/contacts/sync/... and /contacts/import/... inside the contacts prefix.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("contacts.auth_urls")),
    path("", include("syncjobs.connections_urls")),
    path("", include("contacts.urls")),
    path("", include("syncjobs.urls")),
    path("", include("linkedin.urls")),
]
