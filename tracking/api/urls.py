from django.urls import path

from . import views

urlpatterns = [
    path("events", views.EventIngestView.as_view(), name="api-events"),
    path("transactions", views.TransactionListView.as_view(), name="api-transactions"),
    path(
        "transactions/<path:correlation_id>",
        views.TransactionDetailView.as_view(),
        name="api-transaction",
    ),
]
