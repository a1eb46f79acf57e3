"""Cursor pagination that says so when ``page_size`` is not a page size.

DRF's own falls back to the default size for ``page_size=abc`` or ``-5``: the client then
pages through something other than it asked for without knowing. Here that is a 400.
Sizes above the maximum are still capped, as documented in docs/api.md.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: (
                        f"must be a whole number from 1 to {self.max_page_size}, not {raw!r}"
                    )
                }
            )
        return min(int(raw), self.max_page_size)
