"""Request parsers shared by every API view."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class NestingSafeJSONParser(JSONParser):
    """DRF's JSON parser, with a 400 for JSON nested too deeply to decode.

    json.load raises RecursionError (not a ValueError, which DRF handles)
    for ``[[[[...`` a thousand levels deep, which was a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
