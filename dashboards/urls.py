from django.urls import path

from .views import contracts, flows, overview, reports, saved, transaction, transactions

app_name = "dashboards"
urlpatterns = [
    path("", overview.overview_view, name="overview"),
    path("transactions/", transactions.transactions_view, name="transactions"),
    path("reports/", reports.reports_view, name="reports"),
    # Correlation IDs are the business's own keys; they may hold slashes.
    path("transactions/<path:correlation_id>/", transaction.transaction_view, name="transaction"),
    path("contracts/", contracts.contracts_view, name="contracts"),
    path("contracts/<path:contract>/", contracts.contract_view, name="contract"),
    path("flows/", flows.flows_view, name="flows"),
    path("flows/<slug:slug>/", flows.flow_view, name="flow"),
    path("views/", saved.save_view, name="save-view"),
    path("views/<int:pk>/delete", saved.delete_view, name="delete-view"),
]
