from django.urls import path

from ..reconciliation import api as reconciliation
from . import views

urlpatterns = [
    path("metrics/summary", views.SummaryView.as_view(), name="api-metrics-summary"),
    path("metrics/series", views.SeriesView.as_view(), name="api-metrics-series"),
    path("contracts", reconciliation.ContractList.as_view(), name="api-contracts"),
    path(
        "contracts/<str:contract>",
        reconciliation.ContractDetail.as_view(),
        name="api-contract",
    ),
    path("reconciliation/breaks", reconciliation.BreakList.as_view(), name="api-breaks"),
]
