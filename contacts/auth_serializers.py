"""Input and output shapes of sign-in, the profile and extension pairing."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from contacts.models import validate_time_zone

FULL_NAME_MAX = 200
PASSWORD_MAX = 128
# Codes the extension shows are short; the original allowed up to 20 chars.
PAIRING_CODE = re.compile(r"^[A-Z0-9_-]{4,20}$")


def _password_errors(password: str, *, user) -> list[str]:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True
    )
    full_name = serializers.CharField(
        max_length=FULL_NAME_MAX, required=False, allow_blank=True, allow_null=True
    )

    def validate_email(self, value: str) -> str:
        email = get_user_model().objects.normalize_email(value.strip())
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise serializers.ValidationError("Email already registered")
        return email

    def validate(self, attrs: dict) -> dict:
        User = get_user_model()
        candidate = User(email=attrs["email"], full_name=attrs.get("full_name") or "")
        errors = _password_errors(attrs["password"], user=candidate)
        if errors:
            raise serializers.ValidationError({"password": errors})
        return attrs


class LoginSerializer(serializers.Serializer):
    """JSON ``{email, password}`` or the original's form ``username``/``password``."""

    email = serializers.CharField(required=False, max_length=254)
    username = serializers.CharField(required=False, max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)

    def validate(self, attrs: dict) -> dict:
        email = (attrs.get("email") or attrs.get("username") or "").strip()
        if not email:
            raise serializers.ValidationError({"email": ["This field is required."]})
        return {"email": email, "password": attrs["password"]}


class ProfileUpdateSerializer(serializers.Serializer):
    """What a user may change about themselves (PUT and PATCH both partial)."""

    full_name = serializers.CharField(
        max_length=FULL_NAME_MAX, required=False, allow_blank=True, allow_null=True
    )
    time_zone = serializers.CharField(
        max_length=64, required=False, validators=[validate_time_zone]
    )
    leap_day_birthdays_on = serializers.ChoiceField(
        choices=["feb28", "mar1"], required=False
    )
    birthday_reminder_hour = serializers.IntegerField(
        min_value=0, max_value=23, required=False
    )


class ChangePasswordSerializer(serializers.Serializer):
    current_password = serializers.CharField(
        max_length=PASSWORD_MAX, trim_whitespace=False
    )
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)

    def validate_current_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("Current password is incorrect")
        return value

    def validate_new_password(self, value: str) -> str:
        errors = _password_errors(value, user=self.context["user"])
        if errors:
            raise serializers.ValidationError(errors)
        return value


def pairing_code_normalise(raw: str) -> str:
    """Return the code as the user means it: trimmed and upper-cased."""
    return raw.strip().upper()


class PairingCodeField(serializers.CharField):
    def to_internal_value(self, data) -> str:
        code = pairing_code_normalise(super().to_internal_value(data))
        if not PAIRING_CODE.match(code):
            raise serializers.ValidationError(
                "must be 4-20 letters, digits, '-' or '_'"
            )
        return code


class PairCreateSerializer(serializers.Serializer):
    """The code the extension shows; left out, the server makes one up."""

    code = PairingCodeField(required=False, max_length=40)


class PairPollSerializer(serializers.Serializer):
    code = PairingCodeField(max_length=40)


class GoogleAccountSerializer(serializers.Serializer):
    """A connected Google account in the original's shape, plus its status."""

    id = serializers.UUIDField()
    email = serializers.CharField(source="account_id")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class UserSerializer(serializers.Serializer):
    """The signed-in user in the original's ``UserResponse`` shape.

    Built from a dict (see ``contacts.auth_api.user_payload``), so that
    connected accounts come from one query.
    """

    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    google_connected = serializers.BooleanField()
    google_email = serializers.CharField(allow_null=True)
    google_accounts = GoogleAccountSerializer(many=True)
    twitter_connected = serializers.BooleanField()
    twitter_username = serializers.CharField(allow_null=True)
    telegram_connected = serializers.BooleanField()
    telegram_username = serializers.CharField(allow_null=True)
    linkedin_extension_paired_at = serializers.DateTimeField(allow_null=True)


class TokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()


class UpdatedSerializer(serializers.Serializer):
    updated = serializers.BooleanField()


class PasswordChangedSerializer(UpdatedSerializer):
    """``updated``, plus a new web token: the one the call came with has ended."""

    access_token = serializers.CharField()
    token_type = serializers.CharField()


class DeletedFlagSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()


class PairingSerializer(serializers.Serializer):
    status = serializers.CharField()
    code = serializers.CharField()
    expires_at = serializers.DateTimeField()


class PairTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    api_url = serializers.URLField()


class UnpairedSerializer(serializers.Serializer):
    status = serializers.CharField()
    revoked = serializers.BooleanField()
