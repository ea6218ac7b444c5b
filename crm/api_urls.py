"""Everything under /api/v1/, one include per app."""

from django.urls import include, path

urlpatterns = [
    path("", include("contacts.urls")),
    path("", include("syncjobs.urls")),
]
