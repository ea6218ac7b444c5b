"""Everything under /api/v1/, one include per app."""

from django.urls import include, path

from linkedin.api import LinkedInPushView

urlpatterns = [
    path("", include("contacts.urls")),
    path("", include("syncjobs.urls")),
    path("linkedin/push", LinkedInPushView.as_view(), name="linkedin-push"),
]
