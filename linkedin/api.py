"""The browser extension's push endpoint: ``POST /api/v1/linkedin/push``."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from contacts.authentication import WebJWTAuthentication
from crm.envelope import envelope
from crm.parsers import NestingSafeJSONParser
from linkedin.serializers import PushSerializer, push_payload_from_data
from linkedin.services import linkedin_push_apply


class LinkedInPushView(APIView):
    """Take the profiles and messages the extension saw and apply them.

    Bearer JWTs of both audiences are accepted here: the extension's token
    from pairing (revocable by unpairing) and the web app's. DRF tokens
    (scripts) and sessions (the browsable API) work too.
    """

    query_budget = {"POST": 12}

    authentication_classes = [
        WebJWTAuthentication,
        TokenAuthentication,
        SessionAuthentication,
    ]
    accepts_extension_tokens = True
    parser_classes = [NestingSafeJSONParser, FormParser, MultiPartParser]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "push"
    serializer_class = PushSerializer

    def post(self, request):
        payload = push_payload_from_data(request.data)
        result = linkedin_push_apply(owner=request.user, payload=payload)
        return envelope(result.as_response())
