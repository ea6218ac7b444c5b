"""Contact routes under /api/v1/, without trailing slashes (as the original).

The fixed paths come before ``contacts/<uuid>`` so that none of them can
ever be read as a contact id.
"""

from django.urls import path

from contacts import api

urlpatterns = [
    path("contacts", api.ContactListCreateApi.as_view(), name="contact-list"),
    path("contacts/ids", api.ContactIdsApi.as_view(), name="contact-ids"),
    path("contacts/stats", api.ContactStatsApi.as_view(), name="contact-stats"),
    path(
        "contacts/birthdays",
        api.ContactBirthdaysApi.as_view(),
        name="contact-birthdays",
    ),
    path("contacts/overdue", api.ContactOverdueApi.as_view(), name="contact-overdue"),
    path("contacts/tags", api.ContactTagsApi.as_view(), name="contact-tags"),
    path(
        "contacts/scores/recalculate",
        api.ScoresRecalculateApi.as_view(),
        name="contact-scores-recalculate",
    ),
    path(
        "contacts/<uuid:contact_id>",
        api.ContactDetailApi.as_view(),
        name="contact-detail",
    ),
    path(
        "contacts/<uuid:contact_id>/activity",
        api.ContactActivityApi.as_view(),
        name="contact-activity",
    ),
]
