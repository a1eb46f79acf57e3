from django.urls import path

from . import spans, views

urlpatterns = [
    path("events", views.EventIngestView.as_view(), name="api-events"),
    path("transactions", views.TransactionListView.as_view(), name="api-transactions"),
    # Before the detail: a correlation ID may hold slashes, and the detail's pattern would
    # swallow the "/spans" suffix as part of one.
    path(
        "transactions/<path:correlation_id>/spans",
        spans.TransactionSpansView.as_view(),
        name="api-transaction-spans",
    ),
    path(
        "transactions/<path:correlation_id>",
        views.TransactionDetailView.as_view(),
        name="api-transaction",
    ),
]
