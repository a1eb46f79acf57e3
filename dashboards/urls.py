from django.urls import path

from .views import contracts, flows, keys, overview, reports, saved, transaction, transactions

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
    path("flows/<slug:slug>/keys/", keys.keys_view, name="flow-keys"),
    path("flows/<slug:slug>/keys/<str:prefix>/rotate", keys.rotate_view, name="flow-key-rotate"),
    path("flows/<slug:slug>/keys/<str:prefix>/revoke", keys.revoke_view, name="flow-key-revoke"),
    path("views/", saved.save_view, name="save-view"),
    path("views/<int:pk>/delete", saved.delete_view, name="delete-view"),
]
