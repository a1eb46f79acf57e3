"""DRF's JSON parser, with a body nested past Python's recursion limit refused as 400.

The standard library's decoder recurses once per level: ``[[[[...]]]]`` 100,000 deep raises
RecursionError, which DRF does not count as a parse error, so the request answered 500.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply") from exc
