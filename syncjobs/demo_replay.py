"""Run every provider sync once against recorded responses, for the main job.

The syncs go through the real code path (``sync_provider``, the real
Google and X client libraries); only the transport underneath is replaced
by one that answers from files in ``sample/recorded/``: an httplib2
stand-in for the Google clients (batch requests included) and a requests
adapter for tweepy. Nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

import httplib2
import requests
from django.utils import timezone

from contacts.models import User
from syncjobs.models import ProviderAccount
from syncjobs.providers.twitter import TwitterProvider

logger = logging.getLogger(__name__)

# Which recorded file answers which call, by method and URL path.
ROUTES_FILE = "routes.json"


class _Routes:
    def __init__(self, folder: Path):
        self.folder = folder
        self.routes: dict[str, str] = json.loads((folder / ROUTES_FILE).read_text())

    def answer(self, method: str, url: str) -> tuple[int, bytes]:
        path = urlsplit(url).path
        name = self.routes.get(f"{method} {path}")
        if name is None:
            logger.warning(
                "no recorded response", extra={"method": method, "path": path}
            )
            return 404, b'{"error": {"code": 404, "message": "not recorded"}}'
        return 200, (self.folder / name).read_bytes()


class RecordedHttp:
    """An ``httplib2.Http`` stand-in that answers from recorded files."""

    timeout = None

    def __init__(self, routes: _Routes):
        self.routes = routes
        self.connections: dict = {}

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        if urlsplit(uri).path.split("/")[1:2] == ["batch"]:
            return self._batch(body, headers or {})
        status, content = self.routes.answer(method, uri)
        return httplib2.Response(
            {"status": str(status), "content-type": "application/json"}
        ), content

    def _batch(self, body, headers: dict):
        """Answer each part of a multipart/mixed batch request on its own."""
        content_type = next(
            v for k, v in headers.items() if k.lower() == "content-type"
        )
        if isinstance(body, str):
            body = body.encode()
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body,
            policy=email.policy.HTTP,
        )
        boundary = "recorded_batch_boundary"
        chunks = []
        for part in message.iter_parts():
            request_line = part.get_payload(decode=True).decode().splitlines()[0]
            method, url, _version = request_line.split(" ")
            status, content = self.routes.answer(method, url)
            content_id = part["Content-ID"].strip("<>")
            chunks.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{content_id}>\r\n\r\n"
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                "Content-Type: application/json\r\n\r\n"
                f"{content.decode()}\r\n"
            )
        chunks.append(f"--{boundary}--\r\n")
        response = httplib2.Response(
            {"status": "200", "content-type": f"multipart/mixed; boundary={boundary}"}
        )
        return response, "".join(chunks).encode()


class RecordedAdapter(requests.adapters.BaseAdapter):
    """A requests transport adapter that answers from recorded files."""

    def __init__(self, routes: _Routes):
        super().__init__()
        self.routes = routes

    def send(self, request, **kwargs):
        status, content = self.routes.answer(request.method, request.url)
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def _demo_account(owner: User, kind: str, account_id: str) -> ProviderAccount:
    account, _ = ProviderAccount.objects.get_or_create(
        owner=owner,
        kind=kind,
        account_id=account_id,
        defaults={
            "account_name": owner.full_name,
            "access_token": "recorded-demo-access-token",
            "refresh_token": "recorded-demo-refresh-token",
        },
    )
    # Far enough ahead that no client library tries to refresh it.
    account.token_expires_at = timezone.now() + dt.timedelta(days=365)
    account.status = ProviderAccount.STATUS_CONNECTED
    account.save(update_fields=["token_expires_at", "status"])
    return account


def replay_syncs(*, owner: User, recorded_dir: Path) -> list:
    """Run the Gmail, People, Calendar and X syncs once; return their runs."""
    from syncjobs.services import sync_provider

    google = _demo_account(owner, ProviderAccount.KIND_GOOGLE, owner.email)
    twitter = _demo_account(owner, ProviderAccount.KIND_TWITTER, "1400000000000000001")
    runs = []
    for platform in ("google_contacts", "gmail", "google_calendar"):
        http = RecordedHttp(_Routes(recorded_dir / platform))
        runs.append(
            sync_provider(
                account=google, platform=platform, trigger="manual", http=http
            )
        )
    session = requests.Session()
    session.mount("https://", RecordedAdapter(_Routes(recorded_dir / "twitter")))
    runs.append(
        sync_provider(
            account=twitter,
            platform="twitter",
            trigger="manual",
            provider=TwitterProvider(session=session),
        )
    )
    return runs
