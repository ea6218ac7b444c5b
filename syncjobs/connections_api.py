"""Connect and disconnect Google and X, start syncs, and upload export files.

The OAuth flows themselves are in ``syncjobs.oauth``. A sync trigger
queues the provider's Celery task once the request commits and answers at
once with the task id; the run it makes shows up in ``/sync-history``.
Uploads go through ``syncjobs.services.import_file``, the same path as the
``import`` command.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from contacts.auth_api import token_data
from crm.envelope import envelope, enveloped_schema
from syncjobs import importers, oauth
from syncjobs.models import (
    PROVIDER_GMAIL,
    PROVIDER_GOOGLE_CALENDAR,
    PROVIDER_GOOGLE_CONTACTS,
    PROVIDER_TWITTER,
    TRIGGER_MANUAL,
    ProviderAccount,
)

logger = logging.getLogger(__name__)

TAG = "connections"
PROBLEMS_SHOWN = 200
# Room for the multipart boundaries and headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
_DM_FILE = re.compile(r"^direct-messages(-group)?(-part\d+)?\.js$")
KIND_LABELS = {ProviderAccount.KIND_GOOGLE: "Google", ProviderAccount.KIND_TWITTER: "X"}
PLATFORM_KINDS = {
    PROVIDER_GMAIL: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CONTACTS: ProviderAccount.KIND_GOOGLE,
    PROVIDER_GOOGLE_CALENDAR: ProviderAccount.KIND_GOOGLE,
    PROVIDER_TWITTER: ProviderAccount.KIND_TWITTER,
}
CSV_FORMATS = (
    importers.FORMAT_GOOGLE_CSV,
    importers.FORMAT_LINKEDIN_CONNECTIONS,
    importers.FORMAT_LINKEDIN_MESSAGES,
)


class OAuthFailed(exceptions.APIException):
    default_code = "oauth_failed"

    def __init__(self, error: oauth.OAuthError):
        super().__init__(str(error))
        self.status_code = error.status


class CallbackSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=2048)
    state = serializers.CharField(max_length=2048)


class AccountSerializer(serializers.ModelSerializer):
    """A connected account, never with its tokens."""

    email = serializers.CharField(source="account_id")

    class Meta:
        model = ProviderAccount
        fields = ("id", "email", "account_name", "status", "scopes", "created_at")
        read_only_fields = fields


class AuthUrlSerializer(serializers.Serializer):
    url = serializers.URLField()
    state = serializers.CharField()


class GoogleConnectedSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    account = AccountSerializer()


class TwitterConnectedSerializer(serializers.Serializer):
    connected = serializers.BooleanField()
    username = serializers.CharField(allow_null=True)
    account = AccountSerializer()


class DeletedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    deleted = serializers.BooleanField()
    # False when the provider could not confirm the grant is gone; the
    # account is disconnected here anyway and the user is notified.
    revoked = serializers.BooleanField()


class DisconnectedSerializer(serializers.Serializer):
    disconnected = serializers.BooleanField()
    accounts = serializers.IntegerField()
    revoked = serializers.BooleanField()


class SyncStartedSerializer(serializers.Serializer):
    status = serializers.CharField()
    platform = serializers.CharField()
    task_id = serializers.UUIDField()


class ProblemSerializer(serializers.Serializer):
    position = serializers.CharField()
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    dry_run = serializers.BooleanField()
    run_id = serializers.UUIDField(allow_null=True)
    fetched = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    rescored = serializers.IntegerField()
    details = serializers.DictField()
    problems = ProblemSerializer(many=True)
    problems_total = serializers.IntegerField()
    warnings = ProblemSerializer(many=True)
    warnings_total = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())


def _oauth(call):
    try:
        return call()
    except oauth.OAuthError as exc:
        raise OAuthFailed(exc) from exc


# --- Google ----------------------------------------------------------------------


class GoogleAuthUrlApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Google's consent URL, to connect an account",
        responses=enveloped_schema("GoogleAuthUrlResponse", AuthUrlSerializer()),
    )
    def get(self, request: Request) -> Response:
        start = _oauth(lambda: oauth.google_authorization_start(user=request.user))
        return envelope({"url": start.url, "state": start.state})


class GoogleCallbackApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Finish connecting: exchange Google's code (with its state)",
        request=CallbackSerializer,
        responses=enveloped_schema(
            "GoogleConnectedResponse", GoogleConnectedSerializer()
        ),
    )
    def post(self, request: Request) -> Response:
        body = CallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = _oauth(
            lambda: oauth.google_authorization_finish(
                user=request.user, **body.validated_data
            )
        )
        # The original's callback also signed the user in, so its web app
        # reads a token here.
        return envelope(
            {**token_data(request.user), "account": AccountSerializer(account).data}
        )


class GoogleAccountsApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Your connected Google accounts",
        responses=enveloped_schema(
            "GoogleAccountsResponse", AccountSerializer(many=True)
        ),
    )
    def get(self, request: Request) -> Response:
        accounts = ProviderAccount.objects.filter(
            owner=request.user, kind=ProviderAccount.KIND_GOOGLE
        ).order_by("created_at", "id")
        return envelope(AccountSerializer(accounts, many=True).data)


class GoogleAccountDetailApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Disconnect one Google account and revoke its grant at Google",
        responses=enveloped_schema("GoogleAccountDeletedResponse", DeletedSerializer()),
    )
    def delete(self, request: Request, account_id) -> Response:
        account = get_object_or_404(
            ProviderAccount.objects.filter(
                owner=request.user, kind=ProviderAccount.KIND_GOOGLE
            ),
            pk=account_id,
        )
        disconnected = oauth.provider_accounts_disconnect(
            owner=request.user, kind=account.kind, account_pk=account.pk
        )
        return envelope(
            {"id": str(account_id), "deleted": True, "revoked": disconnected.revoked}
        )


# --- X ---------------------------------------------------------------------------


class TwitterAuthUrlApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="X's consent URL (OAuth 2 with PKCE)",
        responses=enveloped_schema("TwitterAuthUrlResponse", AuthUrlSerializer()),
    )
    def get(self, request: Request) -> Response:
        start = _oauth(lambda: oauth.twitter_authorization_start(user=request.user))
        return envelope({"url": start.url, "state": start.state})


class TwitterCallbackApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Finish connecting: exchange X's code (with its state)",
        request=CallbackSerializer,
        responses=enveloped_schema(
            "TwitterConnectedResponse", TwitterConnectedSerializer()
        ),
    )
    def post(self, request: Request) -> Response:
        body = CallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = _oauth(
            lambda: oauth.twitter_authorization_finish(
                user=request.user, **body.validated_data
            )
        )
        return envelope(
            {
                "connected": True,
                "username": account.account_name or None,
                "account": AccountSerializer(account).data,
            }
        )


class TwitterDisconnectApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Disconnect X and revoke its grant at X",
        request=None,
        responses=enveloped_schema(
            "TwitterDisconnectedResponse", DisconnectedSerializer()
        ),
    )
    def post(self, request: Request) -> Response:
        disconnected = oauth.provider_accounts_disconnect(
            owner=request.user, kind=ProviderAccount.KIND_TWITTER
        )
        return envelope(
            {
                "disconnected": True,
                "accounts": disconnected.accounts,
                "revoked": disconnected.revoked,
            }
        )

    delete = post


# --- sync triggers ---------------------------------------------------------------


def sync_precondition_error(*, owner, platform: str) -> str:
    """Return why ``platform`` cannot sync for ``owner`` now, or ""."""
    kind = PLATFORM_KINDS[platform]
    label = KIND_LABELS[kind]
    statuses = set(
        ProviderAccount.objects.filter(owner=owner, kind=kind).values_list(
            "status", flat=True
        )
    )
    if ProviderAccount.STATUS_CONNECTED in statuses:
        return ""
    if statuses:
        return f"{label} account not connected: reconnect it in Settings"
    return f"{label} account not connected. Complete {label} OAuth first."


def sync_queue(*, owner, platform: str) -> str:
    """Queue ``platform``'s sync of every connected account of ``owner``.

    Return the Celery task id, chosen here so it can be answered before the
    task is sent: it is sent only once the request's transaction commits.
    """
    from syncjobs.tasks import PLATFORM_TASKS

    task = PLATFORM_TASKS[platform]
    task_id = str(uuid.uuid4())
    user_id = str(owner.pk)

    def send() -> None:
        task.apply_async(
            args=(user_id,), kwargs={"trigger": TRIGGER_MANUAL}, task_id=task_id
        )

    # robust: a broker hiccup must not turn the answer into a 500 after
    # the fact; it is logged, and the next scheduled run catches up.
    transaction.on_commit(send, robust=True)
    logger.info(
        "queued manual sync",
        extra={"user_id": user_id, "platform": platform, "task_id": task_id},
    )
    return task_id


class SyncTriggerApi(APIView):
    """``POST /contacts/sync/<provider>``: start a sync now, answer at once."""

    platform = ""
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "sync_trigger"

    @extend_schema(
        tags=[TAG],
        summary="Start a sync of this provider",
        request=None,
        responses=enveloped_schema("SyncStartedResponse", SyncStartedSerializer()),
    )
    def post(self, request: Request) -> Response:
        problem = sync_precondition_error(owner=request.user, platform=self.platform)
        if problem:
            raise exceptions.ValidationError(problem)
        task_id = sync_queue(owner=request.user, platform=self.platform)
        return envelope(
            {"status": "started", "platform": self.platform, "task_id": task_id}
        )


# --- uploads ---------------------------------------------------------------------


class UploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "file_too_large"


class UploadQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


def _stored_name(kind: str, upload_name: str, head: bytes) -> tuple[str, str | None]:
    """Return (file name to store the upload under, format or None to detect)."""
    name = Path(upload_name or "").name
    if kind == "csv":
        return "upload.csv", None
    if kind == "linkedin":
        return "Connections.csv", importers.FORMAT_LINKEDIN_CONNECTIONS
    if kind == "linkedin-messages":
        return "messages.csv", importers.FORMAT_LINKEDIN_MESSAGES
    if kind == "vcard":
        return "upload.vcf", importers.FORMAT_VCARD
    if kind == "mbox":
        if name.lower().endswith(".eml"):
            return "upload.eml", importers.FORMAT_EML
        return "upload.mbox", importers.FORMAT_MBOX
    if kind == "twitter-archive":
        # A zip file's local-header signature, which zipfile looks for too.
        if head.startswith(b"PK\x03\x04"):
            return "archive.zip", importers.FORMAT_TWITTER_ARCHIVE
        stored = name if _DM_FILE.match(name) else "direct-messages.js"
        return stored, importers.FORMAT_TWITTER_ARCHIVE
    raise ValueError(f"unknown import kind {kind!r}")


def _problems(problems) -> list[dict]:
    return [{"position": p.position, "reason": p.reason} for p in problems]


def import_report_data(report) -> dict:
    """Return an ImportReport as the upload endpoints answer it."""
    problems = list(report.problems)
    warnings = list(report.warnings)
    return {
        "format": report.format,
        "dry_run": report.dry_run,
        "run_id": str(report.run.pk) if report.run is not None else None,
        "fetched": report.fetched,
        "created": report.created,
        "updated": report.updated,
        "skipped": report.skipped,
        "failed": report.failed,
        "rescored": report.rescored,
        "details": report.details,
        "problems": _problems(problems[:PROBLEMS_SHOWN]),
        "problems_total": len(problems),
        "warnings": _problems(warnings[:PROBLEMS_SHOWN]),
        "warnings_total": len(warnings),
        # The original's clients show a list of strings.
        "errors": [f"{p.position}: {p.reason}" for p in problems[:PROBLEMS_SHOWN]],
    }


class ImportUploadApi(APIView):
    """``POST /contacts/import/<kind>``: multipart field ``file``, ``?dry_run=``.

    Missing: the import runs inside the request, so a large mbox holds a
    web worker for its whole run; an import task with a progress endpoint
    would free it.
    """

    kind = ""
    parser_classes = [MultiPartParser, FormParser]

    def _refuse_if_large(self, request: Request) -> None:
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        message = f"File too large (max {limit} bytes)"
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        # Checked before the body is parsed, so an oversized upload is not
        # read to disk first.
        if declared > limit + MULTIPART_OVERHEAD:
            raise UploadTooLarge(message)
        upload = request.FILES.get("file")
        if upload is not None and upload.size > limit:
            raise UploadTooLarge(message)

    @extend_schema(
        tags=[TAG],
        summary="Import an export file (counts, and each bad record with its place)",
        parameters=[UploadQuerySerializer],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses=enveloped_schema("ImportResultResponse", ImportResultSerializer()),
    )
    def post(self, request: Request) -> Response:
        from syncjobs import services

        self._refuse_if_large(request)
        query = UploadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError(
                {"file": ["no file uploaded (multipart field 'file')"]}
            )

        folder = Path(tempfile.mkdtemp(prefix="crm-import-"))
        try:
            head = next(upload.chunks(), b"")[:4]
            name, fmt = _stored_name(self.kind, upload.name, head)
            path = folder / name
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            fmt = fmt or self._csv_format(path)
            report = services.import_file(
                owner=request.user,
                path=path,
                fmt=fmt,
                dry_run=query.validated_data["dry_run"],
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return envelope(import_report_data(report))

    @staticmethod
    def _csv_format(path: Path) -> str:
        try:
            fmt = importers.detect_format(path)
        except importers.UnknownFormat as exc:
            raise exceptions.ValidationError(
                {"file": [f"not a Google Contacts or LinkedIn CSV export: {exc}"]}
            ) from exc
        if fmt not in CSV_FORMATS:
            raise exceptions.ValidationError({"file": ["not a CSV export"]})
        return fmt
