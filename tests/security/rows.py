"""Snapshot every row a user owns, to prove a request changed none of them."""

from __future__ import annotations

import uuid

from django.apps import apps
from django.db import models

from contacts.models import User


def owned_rows(user: User) -> dict[str, list[dict]]:
    """Return every row of every model with a foreign key to ``user``, and the user.

    Models are found through the app registry, so a model added later is
    in the snapshot without being listed here.
    """
    snapshot: dict[str, list[dict]] = {
        "contacts.User": list(User.objects.filter(pk=user.pk).values())
    }
    for model in apps.get_models():
        links = [
            f.name
            for f in model._meta.get_fields()
            if isinstance(f, (models.ForeignKey, models.OneToOneField))
            and f.related_model is User
        ]
        if not links:
            continue
        query = models.Q()
        for name in links:
            query |= models.Q(**{name: user})
        rows = model._default_manager.filter(query).order_by("pk").values()
        snapshot[model._meta.label] = [
            {k: (v.hex if isinstance(v, uuid.UUID) else v) for k, v in row.items()}
            for row in rows
        ]
    return snapshot
