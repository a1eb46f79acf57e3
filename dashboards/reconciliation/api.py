"""``GET /api/v1/contracts``, ``/api/v1/contracts/<contract>`` and
``/api/v1/reconciliation/breaks`` (``read`` scope, or any role)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from tracking.api.auth import CanRead
from tracking.api.pagination import Cursor

from ..models import Contract, ContractBreak
from .filtersets import BreakFilterSet, ContractFilterSet
from .serializers import BreakSerializer, ContractDetailSerializer, ContractSerializer


class ContractList(generics.ListAPIView):
    """Contracts, newest reconciled first; filter by customer, dimensions, open breaks."""

    permission_classes = [CanRead]
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet
    pagination_class = Cursor
    queryset = Contract.objects.all()


@extend_schema(parameters=[OpenApiParameter("contract", str, OpenApiParameter.PATH)])
class ContractDetail(generics.RetrieveAPIView):
    """One contract's chain: versions per system, figures, transactions and breaks."""

    permission_classes = [CanRead]
    serializer_class = ContractDetailSerializer
    queryset = Contract.objects.all()
    lookup_field = "key"
    lookup_url_kwarg = "contract"


class BreakCursor(Cursor):
    # Largest first (reporting currency): what finance looks at first. Unpriced ones (no
    # FX rate for their currency) rank as 0, last.
    ordering = ("-rank_amount", "-id")


class BreakList(generics.ListAPIView):
    """Open reconciliation breaks, largest first (reporting currency)."""

    permission_classes = [CanRead]
    serializer_class = BreakSerializer
    filterset_class = BreakFilterSet
    pagination_class = BreakCursor
    queryset = ContractBreak.objects.filter(cleared_at=None).select_related("contract")
