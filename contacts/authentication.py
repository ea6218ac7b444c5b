"""Bearer JWTs for the web app and the browser extension, and their DRF classes.

Two audiences, as the original: web tokens (``aud: pingcrm-web``, 24 h)
from sign-in, extension tokens (``aud: pingcrm-extension``, 30 days) from
pairing. ``WebJWTAuthentication`` is the default: it takes web tokens
everywhere and extension tokens only on views that set
``accepts_extension_tokens = True`` (the LinkedIn push). Unlike the
original, extension tokens can be revoked: each carries the user's
extension token version, and unpairing increments it. Tokens without an
``aud`` claim are refused (the original accepted them everywhere).

Every token also carries ``pwd``, an HMAC of the user's id and
``User.password_changed_at`` at issue: a real password change (API, admin,
``changepassword``, password reset: all go through set_password) moves that
time, so every token issued before it is refused afterwards, checked
against the user row the authentication loads anyway (no extra query). A
rehash on sign-in (a new hasher, more iterations) changes the password hash
but not that time, so it ends no token.
"""

from __future__ import annotations

import datetime as dt
import logging

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import Token

logger = logging.getLogger(__name__)

WEB_AUDIENCE = "pingcrm-web"
EXTENSION_AUDIENCE = "pingcrm-extension"
WEB_TOKEN_LIFETIME = dt.timedelta(hours=24)
EXTENSION_TOKEN_LIFETIME = dt.timedelta(days=30)
ALGORITHM = "HS256"
USER_CLAIM = "sub"
VERSION_CLAIM = "ver"
PASSWORD_CLAIM = "pwd"
PASSWORD_CLAIM_SALT = "contacts.authentication.password-changed-claim"
# The claim of tokens issued before migration 0006: an HMAC of the hash.
LEGACY_PASSWORD_CLAIM_SALT = "contacts.authentication.password-claim"

BAD_CREDENTIALS = _("Could not validate credentials")
PASSWORD_CHANGED = _("Token was issued before a password change")


def password_claim(user) -> str:
    """Return the ``pwd`` claim of ``user``'s tokens: it changes with the password.

    An HMAC keyed with SECRET_KEY of the user's id and the time of the last
    real password change, so a rehash of the same password keeps it.
    """
    changed = user.password_changed_at
    stamp = changed.isoformat() if changed is not None else "never"
    return salted_hmac(
        PASSWORD_CLAIM_SALT, f"{user.pk}:{stamp}", algorithm="sha256"
    ).hexdigest()


def password_claim_matches(claim, user) -> bool:
    """Return whether a token's ``pwd`` claim is still good for ``user``.

    A token without the claim predates it and is refused: it may have been
    issued before a password change.
    """
    if not isinstance(claim, str):
        return False
    if constant_time_compare(claim, password_claim(user)):
        return True
    # Tokens issued before migration 0006 carry an HMAC of the password
    # hash; they stay good until the user's first real password change
    # (or a rehash) or their expiry. Missing: this branch can go 30 days
    # (the extension token lifetime) after that migration is deployed.
    legacy = salted_hmac(LEGACY_PASSWORD_CLAIM_SALT, user.password, algorithm="sha256")
    return user.password_changed_at is None and constant_time_compare(
        claim, legacy.hexdigest()
    )


def audience_backend(audience: str) -> TokenBackend:
    """Return a token backend that signs for and only accepts ``audience``."""
    # Built per call: SECRET_KEY is read now, not at import, so tests and
    # key rotation with override_settings see the current key.
    return TokenBackend(ALGORITHM, signing_key=settings.SECRET_KEY, audience=audience)


class AudienceToken(Token):
    """An access token bound to one audience, naming its user in ``sub``."""

    token_type = "access"
    audience = ""

    @property
    def token_backend(self) -> TokenBackend:
        return audience_backend(self.audience)

    @classmethod
    def for_user(cls, user) -> AudienceToken:
        token = cls()
        token[USER_CLAIM] = str(user.pk)
        token[PASSWORD_CLAIM] = password_claim(user)
        return token


class WebToken(AudienceToken):
    audience = WEB_AUDIENCE
    lifetime = WEB_TOKEN_LIFETIME


class ExtensionToken(AudienceToken):
    audience = EXTENSION_AUDIENCE
    lifetime = EXTENSION_TOKEN_LIFETIME


def web_token_for(user) -> str:
    """Return a new signed web token for ``user``."""
    return str(WebToken.for_user(user))


def extension_token_for(user) -> str:
    """Return a new signed extension token for ``user`` at their current version.

    Creates the user's ExtensionAccess row on first use.
    """
    from contacts.models import ExtensionAccess

    access, _ = ExtensionAccess.objects.get_or_create(owner=user)
    token = ExtensionToken.for_user(user)
    token[VERSION_CLAIM] = access.token_version
    return str(token)


def token_audience(raw_token: str | bytes) -> str | None:
    """Return the ``aud`` claim of a token without verifying anything.

    Only used to pick which verification to run; the chosen one checks the
    signature, the expiry and the audience itself.
    """
    try:
        payload = jwt.decode(raw_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    audience = payload.get("aud")
    return audience if isinstance(audience, str) else None


def _validated(token_class: type[AudienceToken], raw_token: bytes) -> AudienceToken:
    try:
        return token_class(raw_token)
    except ExpiredTokenError as exc:
        raise exceptions.AuthenticationFailed(
            _("Token has expired"), code="token_expired"
        ) from exc
    except TokenError as exc:
        raise exceptions.AuthenticationFailed(
            BAD_CREDENTIALS, code="token_not_valid"
        ) from exc


class _BearerJWTAuthentication(JWTAuthentication):
    """Shared part: read the Bearer header, load the user named by ``sub``."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        return self.authenticate_raw(request, raw_token)

    def authenticate_raw(self, request: Request, raw_token: bytes):
        raise NotImplementedError

    def user_for(self, token: AudienceToken, *, with_extension_access: bool = False):
        users = get_user_model().objects.all()
        if with_extension_access:
            users = users.select_related("extension_access")
        try:
            user = users.get(pk=token[USER_CLAIM])
        except (
            KeyError,
            ValueError,
            DjangoValidationError,
            get_user_model().DoesNotExist,
        ) as exc:
            raise exceptions.AuthenticationFailed(
                BAD_CREDENTIALS, code="user_not_found"
            ) from exc
        if not user.is_active:
            raise exceptions.AuthenticationFailed(
                _("User is inactive"), code="user_inactive"
            )
        if not password_claim_matches(token.get(PASSWORD_CLAIM), user):
            raise exceptions.AuthenticationFailed(
                PASSWORD_CHANGED, code="password_changed"
            )
        return user

    def extension_user(self, raw_token: bytes):
        """Return (user, token) for a valid extension token that is not revoked."""
        token = _validated(ExtensionToken, raw_token)
        user = self.user_for(token, with_extension_access=True)
        access = getattr(user, "extension_access", None)
        if access is None or token.get(VERSION_CLAIM) != access.token_version:
            raise exceptions.AuthenticationFailed(
                _("Extension token has been revoked"), code="token_revoked"
            )
        return user, token


class WebJWTAuthentication(_BearerJWTAuthentication):
    """Web tokens everywhere; extension tokens only where the view opts in.

    A view opts in with the class attribute ``accepts_extension_tokens =
    True``. Anything else with an audience but the web one is a 401.
    """

    def authenticate_raw(self, request: Request, raw_token: bytes):
        if token_audience(raw_token) == EXTENSION_AUDIENCE:
            view = (getattr(request, "parser_context", None) or {}).get("view")
            if not getattr(view, "accepts_extension_tokens", False):
                raise exceptions.AuthenticationFailed(
                    _("Extension tokens are not accepted here"),
                    code="wrong_audience",
                )
            return self.extension_user(raw_token)
        token = _validated(WebToken, raw_token)
        return self.user_for(token), token


class ExtensionJWTAuthentication(_BearerJWTAuthentication):
    """Extension tokens only (for views the web app never calls)."""

    def authenticate_raw(self, request: Request, raw_token: bytes):
        return self.extension_user(raw_token)


def extension_tokens_revoke(user) -> int:
    """Revoke every extension token issued to ``user``; return the new version."""
    from django.db.models import F

    from contacts.models import ExtensionAccess

    access, _ = ExtensionAccess.objects.get_or_create(owner=user)
    # One UPDATE with F(): two unpairings racing both count.
    ExtensionAccess.objects.filter(pk=access.pk).update(
        token_version=F("token_version") + 1, paired_at=None
    )
    access.refresh_from_db()
    logger.info(
        "revoked extension tokens",
        extra={"user_id": str(user.pk), "token_version": access.token_version},
    )
    return access.token_version


class WebJWTScheme(OpenApiAuthenticationExtension):
    """Describe the Bearer JWT in the OpenAPI schema."""

    target_class = "contacts.authentication.WebJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class ExtensionJWTScheme(WebJWTScheme):
    target_class = "contacts.authentication.ExtensionJWTAuthentication"
    name = "extensionBearerAuth"
