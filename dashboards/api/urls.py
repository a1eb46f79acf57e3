from django.urls import path

from . import views

urlpatterns = [
    path("metrics/summary", views.SummaryView.as_view(), name="api-metrics-summary"),
    path("metrics/series", views.SeriesView.as_view(), name="api-metrics-series"),
]
