"""``?format=csv`` on an admin changelist: every row its filters, search and ordering leave,
streamed, for the lists that have no page of their own (replays, dead letters)."""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest

from . import csvstream


class _ExportList(ChangeList):
    def get_results(self, request):
        # The changelist counts its rows and reads one page of them; the export streams its
        # own queryset instead, so those queries would be work thrown away.
        self.result_count = self.full_result_count = 0
        self.result_list = []


class CsvExportMixin:
    """Mix into a ModelAdmin before ``admin.ModelAdmin``. ``csv_name`` names the file
    (``c2c-<csv_name>-<stamp>.csv``); ``csv_fields`` are the columns, as ``values_list``
    paths, each headed by its path without ``__slug`` (``flow__slug`` -> ``flow``)."""

    csv_name = ""
    csv_fields: tuple[str, ...] = ()

    def changelist_view(self, request, extra_context=None):
        if request.GET.get("format") != "csv":
            return super().changelist_view(request, extra_context)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # The changelist takes every parameter it does not know for a field lookup, and
        # "format" is none.
        params = request.GET.copy()
        del params["format"]
        request.GET = params
        request.csv_export = True
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # The page drops such filters and lists everything; an export of everything
            # under a filter the user believes applied would mislead.
            return HttpResponseBadRequest(
                "These filters are not valid for this list.",
                content_type="text/plain; charset=utf-8",
            )
        rows = changelist.queryset.values_list(*self.csv_fields).iterator(chunk_size=2000)
        header = [field.replace("__slug", "").replace("__", "_") for field in self.csv_fields]
        return csvstream.response(self.csv_name, header, rows)

    def get_changelist(self, request, **kwargs):
        if getattr(request, "csv_export", False):
            return _ExportList
        return super().get_changelist(request, **kwargs)
