"""Sign-in, the user's own profile, and the browser extension's pairing flow.

``register``/``login`` hand out web tokens; the extension gets its own,
longer-lived token by pairing: the web user registers the code the
extension shows (``POST /extension/pair``), the extension polls
``GET /extension/pair?code=`` and receives its token once. ``DELETE``
unpairs and, unlike the original, revokes every extension token issued.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.contrib.auth import get_user_model, update_session_auth_hash
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from contacts.auth_serializers import (
    ChangePasswordSerializer,
    DeletedFlagSerializer,
    LoginSerializer,
    PairCreateSerializer,
    PairingSerializer,
    PairPollSerializer,
    PairTokenSerializer,
    PasswordChangedSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
    TokenSerializer,
    UnpairedSerializer,
    UserSerializer,
)
from contacts.authentication import (
    WebJWTAuthentication,
    extension_token_for,
    extension_tokens_revoke,
    web_token_for,
)
from contacts.models import ExtensionAccess, ExtensionPairing, User
from crm.envelope import envelope, enveloped_schema

logger = logging.getLogger(__name__)

TAG = "auth"
TOKEN_TYPE = "bearer"
PAIRING_TTL = dt.timedelta(minutes=10)
PAIRING_MAX_POLLS = 20
PAIRING_CODE_LENGTH = 8
# No 0/O, 1/I/L: the user copies the code by eye.
PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- errors and throttles ----------------------------------------------------


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "Gone"
    default_code = "gone"


class TooManyPolls(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many attempts"
    default_code = "too_many_attempts"


class _PerClientThrottle(SimpleRateThrottle):
    """Throttle by client address without touching ``request.user``.

    DRF's AnonRateThrottle reads ``request.user``, which would authenticate
    the request, so a stale token could stop a sign-in. The rate comes from
    DEFAULT_THROTTLE_RATES[scope] when the settings name one.
    """

    default_rate = ""

    def get_rate(self) -> str:
        return self.THROTTLE_RATES.get(self.scope) or self.default_rate

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }


class SignInThrottle(_PerClientThrottle):
    scope = "sign_in"
    default_rate = "20/min"


class PairPollThrottle(_PerClientThrottle):
    scope = "extension_pair_poll"
    default_rate = "60/min"


class PublicApi(APIView):
    """Base of the endpoints that need no sign-in.

    Authentication is left lazy (never run unless the view asks), so a
    stale Authorization header cannot stop a sign-in; the class stays
    listed so that a failed sign-in is a 401 with ``WWW-Authenticate``.
    """

    authentication_classes = [WebJWTAuthentication]
    permission_classes = [AllowAny]

    def perform_authentication(self, request: Request) -> None:
        return None


# --- reads -------------------------------------------------------------------


def user_payload(user: User) -> dict:
    """Return the user with their connected accounts, for ``UserSerializer``."""
    from syncjobs.models import ProviderAccount

    accounts = list(
        ProviderAccount.objects.filter(owner=user).order_by("created_at", "id")
    )
    google = [a for a in accounts if a.kind == ProviderAccount.KIND_GOOGLE]
    twitter = [a for a in accounts if a.kind == ProviderAccount.KIND_TWITTER]
    access = ExtensionAccess.objects.filter(owner=user).first()
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name or None,
        "created_at": user.date_joined,
        "time_zone": user.time_zone,
        "google_connected": bool(google),
        "google_email": google[0].account_id if google else None,
        "google_accounts": google,
        "twitter_connected": bool(twitter),
        "twitter_username": (twitter[0].account_name or None) if twitter else None,
        # Telegram is not part of this product; the keys stay for the
        # original's clients.
        "telegram_connected": False,
        "telegram_username": None,
        "linkedin_extension_paired_at": access.paired_at if access else None,
    }


def user_data(user: User) -> dict:
    return UserSerializer(user_payload(user)).data


def token_data(user: User) -> dict:
    return {"access_token": web_token_for(user), "token_type": TOKEN_TYPE}


# --- writes ------------------------------------------------------------------


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """Create a user who signs in with ``email``."""
    user = get_user_model().objects.create_user(
        email=email, password=password, full_name=full_name or ""
    )
    logger.info("registered user", extra={"user_id": str(user.pk)})
    return user


def user_authenticate(*, email: str, password: str) -> User | None:
    """Return the active user with this email and password, else None."""
    matches = list(get_user_model().objects.filter(email__iexact=email)[:2])
    # Exact match first: addresses are unique as typed, not case-folded.
    user = next((u for u in matches if u.email == email), None)
    if user is None and len(matches) == 1:
        user = matches[0]
    if user is None:
        # Hash anyway, so that the answer takes as long whether or not the
        # email is registered (as Django's ModelBackend does).
        get_user_model()().set_password(password)
        return None
    if not user.is_active or not user.check_password(password):
        return None
    return user


def user_password_change(*, user: User, new_password: str) -> None:
    """Set ``user``'s password and end every token issued before the change.

    Web and extension JWTs end by themselves (their ``pwd`` claim no longer
    matches the new ``password_changed_at``); the user's DRF tokens are
    deleted here. The extension has to be paired again.
    """
    from rest_framework.authtoken.models import Token

    user.set_password(new_password)
    user.save(update_fields=["password", "password_changed_at", "updated_at"])
    Token.objects.filter(user=user).delete()
    logger.info("changed password", extra={"user_id": str(user.pk)})


def _new_code() -> str:
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def pairing_create(
    *, owner: User, code: str | None = None, now: dt.datetime
) -> ExtensionPairing:
    """Register ``code`` (or a new one) for ``owner``, valid for PAIRING_TTL.

    The same user registering the same open code again just extends it; a
    claimed or someone else's code is a 409, an expired one a 410.
    """
    ExtensionPairing.objects.filter(
        owner=owner, claimed_at__isnull=True, expires_at__lte=now
    ).delete()
    expires_at = now + PAIRING_TTL
    if code is None:
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return ExtensionPairing.objects.create(
                        owner=owner, code=_new_code(), expires_at=expires_at
                    )
            except IntegrityError:
                continue
        raise Conflict("Could not find a free pairing code; try again")

    existing = ExtensionPairing.objects.filter(code=code).first()
    if existing is None:
        try:
            with transaction.atomic():
                return ExtensionPairing.objects.create(
                    owner=owner, code=code, expires_at=expires_at
                )
        except IntegrityError:
            raise Conflict("Pairing code in use by another user") from None
    if existing.claimed_at is not None:
        raise Conflict("Pairing code already claimed")
    if existing.expires_at <= now:
        raise Gone("Pairing code expired")
    if existing.owner_id != owner.pk:
        raise Conflict("Pairing code in use by another user")
    existing.expires_at = expires_at
    existing.save(update_fields=["expires_at"])
    return existing


def pairing_claim(*, code: str, now: dt.datetime) -> str:
    """Return the extension token for ``code``, once; count every poll.

    1. Count the poll (a single UPDATE, so parallel polls all count).
    2. Refuse past PAIRING_MAX_POLLS polls (429), once claimed or expired (410).
    3. Claim with a conditional UPDATE: of two racing polls only one wins.
    4. Mint the token at the user's current extension token version.
    """
    counted = ExtensionPairing.objects.filter(code=code).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise exceptions.NotFound("Pairing code not found")
    pairing = ExtensionPairing.objects.select_related("owner").get(code=code)
    if pairing.attempts > PAIRING_MAX_POLLS:
        raise TooManyPolls("Too many attempts")
    if pairing.claimed_at is not None:
        raise Gone("Pairing code already claimed")
    if pairing.expires_at <= now:
        raise Gone("Pairing code expired")
    won = ExtensionPairing.objects.filter(
        pk=pairing.pk, claimed_at__isnull=True
    ).update(claimed_at=now)
    if not won:
        raise Gone("Pairing code already claimed")

    token = extension_token_for(pairing.owner)
    ExtensionAccess.objects.filter(owner=pairing.owner).update(paired_at=now)
    logger.info("extension paired", extra={"user_id": str(pairing.owner_id)})
    return token


def pairing_delete(*, owner: User) -> int:
    """Unpair: drop ``owner``'s codes and revoke every extension token issued."""
    ExtensionPairing.objects.filter(owner=owner).delete()
    return extension_tokens_revoke(owner)


# --- views -------------------------------------------------------------------


class RegisterApi(PublicApi):
    throttle_classes = [SignInThrottle]

    @extend_schema(
        tags=[TAG],
        summary="Create an account; returns the user and a web token",
        request=RegisterSerializer,
        responses={201: enveloped_schema("RegisteredResponse", UserSerializer())},
    )
    def post(self, request: Request) -> Response:
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = user_register(**body.validated_data)
        return envelope(
            {**user_data(user), **token_data(user)}, status_code=status.HTTP_201_CREATED
        )


class LoginApi(PublicApi):
    throttle_classes = [SignInThrottle]

    @extend_schema(
        tags=[TAG],
        summary="Sign in with email and password; returns a web token (24 h)",
        request=LoginSerializer,
        responses=enveloped_schema("SignedInResponse", TokenSerializer()),
    )
    def post(self, request: Request) -> Response:
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = user_authenticate(**body.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed("Incorrect email or password")
        return envelope(token_data(user))


class MeApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="The signed-in user",
        responses=enveloped_schema("MeResponse", UserSerializer()),
    )
    def get(self, request: Request) -> Response:
        return envelope(user_data(request.user))

    @extend_schema(
        tags=[TAG],
        summary="Change your name, time zone or reminder preferences",
        request=ProfileUpdateSerializer,
        responses=enveloped_schema("MeUpdatedResponse", UserSerializer()),
    )
    def put(self, request: Request) -> Response:
        body = ProfileUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        changes = dict(body.validated_data)
        if "full_name" in changes:
            changes["full_name"] = changes["full_name"] or ""
        for name, value in changes.items():
            setattr(user, name, value)
        if changes:
            user.save(update_fields=[*changes, "updated_at"])
        # The original answered {"updated": true}; the user comes along.
        return envelope({"updated": True, **user_data(user)})

    patch = put

    @extend_schema(
        tags=[TAG],
        summary="Delete your account and everything in it",
        responses=enveloped_schema("MeDeletedResponse", DeletedFlagSerializer()),
    )
    def delete(self, request: Request) -> Response:
        from syncjobs.revocation import owner_grants_revoke

        user_id = str(request.user.pk)
        # Before the delete, which takes the tokens with it; a provider that
        # is down does not keep the account alive.
        owner_grants_revoke(request.user)
        request.user.delete()
        logger.info("deleted user", extra={"user_id": user_id})
        return envelope({"deleted": True})


class ChangePasswordApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="Change your password; every older token stops working",
        request=ChangePasswordSerializer,
        responses=enveloped_schema(
            "PasswordChangedResponse", PasswordChangedSerializer()
        ),
    )
    def post(self, request: Request) -> Response:
        body = ChangePasswordSerializer(
            data=request.data, context={"user": request.user}
        )
        body.is_valid(raise_exception=True)
        user_password_change(
            user=request.user, new_password=body.validated_data["new_password"]
        )
        # Keeps a browsable-API session signed in across its own change.
        update_session_auth_hash(request, request.user)
        # The web token that made this call is refused from now on; the new
        # one keeps the web app signed in. The original answered only
        # {"updated": true}; the token keys come along.
        return envelope({"updated": True, **token_data(request.user)})


class ExtensionPairApi(APIView):
    """``POST`` registers a code, ``GET ?code=`` claims it, ``DELETE`` unpairs."""

    def _polling(self) -> bool:
        # The schema generator calls these hooks with no request.
        return getattr(self.request, "method", "") == "GET"

    def get_authenticators(self):
        # The extension polls before it has any token.
        if self._polling():
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self._polling():
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        if self._polling():
            return [PairPollThrottle()]
        return super().get_throttles()

    @extend_schema(
        tags=[TAG],
        summary="Register the pairing code the extension shows (10-minute TTL)",
        request=PairCreateSerializer,
        responses=enveloped_schema("PairingRegisteredResponse", PairingSerializer()),
    )
    def post(self, request: Request) -> Response:
        body = PairCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pairing = pairing_create(
            owner=request.user,
            code=body.validated_data.get("code"),
            now=timezone.now(),
        )
        return envelope(
            {
                "status": "ok",
                "code": pairing.code,
                "expires_at": pairing.expires_at.isoformat(),
            }
        )

    @extend_schema(
        tags=[TAG],
        summary="Extension: claim the token for a registered code (once)",
        parameters=[PairPollSerializer],
        responses=enveloped_schema("PairingClaimedResponse", PairTokenSerializer()),
    )
    def get(self, request: Request) -> Response:
        query = PairPollSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        token = pairing_claim(code=query.validated_data["code"], now=timezone.now())
        # build_absolute_uri honours SECURE_PROXY_SSL_HEADER, which the
        # production settings set; the original forced https by hand.
        api_url = request.build_absolute_uri("/").rstrip("/")
        return envelope({"token": token, "api_url": api_url})

    @extend_schema(
        tags=[TAG],
        summary="Unpair the extension and revoke its tokens",
        responses=enveloped_schema("UnpairedResponse", UnpairedSerializer()),
    )
    def delete(self, request: Request) -> Response:
        pairing_delete(owner=request.user)
        return envelope({"status": "ok", "revoked": True})
