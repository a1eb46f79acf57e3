from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking.api.auth import CanRead

from ..queries import FILTERS, BadQuery
from ..summary import GROUPS, SERIES_METRICS, cached_summary, series

_FILTER_PARAMS = [OpenApiParameter(name, str, description=f"Only this {name}.") for name in FILTERS]
_WINDOW = OpenApiParameter("window", str, description="24h, 7d, 30d (default), 12w; at most 400d")


def _filters(request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTERS}


class SummaryView(APIView):
    """Revenue at risk, SLA adherence, billing latency, failure rate and volume, for a window
    and a filter. Money in the reporting currency, as decimal strings."""

    permission_classes = [CanRead]

    @extend_schema(parameters=[_WINDOW, *_FILTER_PARAMS], responses={200: dict})
    def get(self, request):
        try:
            body = cached_summary(
                request.query_params.get("window", "30d"), _filters(request), timezone.now()
            )
        except BadQuery as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(body)


class SeriesView(APIView):
    """A metric over time, per interval, optionally one series per group (for charts)."""

    permission_classes = [CanRead]

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, required=True, enum=list(SERIES_METRICS)),
            OpenApiParameter("interval", str, enum=["5m", "1h", "1d"]),
            OpenApiParameter("group_by", str, enum=list(GROUPS)),
            OpenApiParameter("policy", str, description="SLA policy slug (adherence, latency)"),
            _WINDOW,
            *_FILTER_PARAMS,
        ],
        responses={200: dict},
    )
    def get(self, request):
        params = request.query_params
        try:
            body = series(
                params.get("metric", ""),
                params.get("window", "30d"),
                _filters(request),
                timezone.now(),
                interval=params.get("interval") or None,
                group_by=params.get("group_by") or None,
                policy=params.get("policy") or None,
            )
        except BadQuery as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(body)
