from django.urls import path

from .views import flows, overview, transaction, transactions

app_name = "dashboards"
urlpatterns = [
    path("", overview.overview_view, name="overview"),
    path("transactions/", transactions.transactions_view, name="transactions"),
    # Correlation IDs are the business's own keys; they may hold slashes.
    path("transactions/<path:correlation_id>/", transaction.transaction_view, name="transaction"),
    path("flows/", flows.flows_view, name="flows"),
    path("flows/<slug:slug>/", flows.flow_view, name="flow"),
]
