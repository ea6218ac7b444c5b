"""Hostile JSON bodies are a 400 on every endpoint, never a 500."""

import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/contacts", "/api/v1/settings/priority"])
def test_json_nested_too_deeply_is_a_clear_400(alice, path):
    client = APIClient()
    client.force_authenticate(alice)
    body = "[" * 100_000 + "]" * 100_000
    method = client.put if path.endswith("priority") else client.post
    response = method(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "JSON parse error - nested too deeply"
