from django.urls import path

from linkedin.api import LinkedInPushView

urlpatterns = [
    path("linkedin/push", LinkedInPushView.as_view(), name="linkedin-push"),
]
