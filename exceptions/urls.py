from django.urls import path

from .views import act, audit_log, digest, notifications, queue

app_name = "exceptions"
urlpatterns = [
    path("", queue.queue_view, name="queue"),
    path("bulk", act.bulk_view, name="bulk"),
    path("audit/", audit_log.audit_view, name="audit"),
    path("audit.csv", audit_log.audit_csv, name="audit-csv"),
    path("notifications/", notifications.notifications_view, name="notifications"),
    path("digest", digest.digest_view, name="digest"),
    path("<int:pk>/", act.case_view, name="case"),
    path("<int:pk>/menu", act.menu, name="menu"),
    path("<int:pk>/<str:action>", act.act, name="act"),
    path("replays/<uuid:replay_id>/approve", act.decide, {"decision": "approve"}, name="approve"),
    path("replays/<uuid:replay_id>/reject", act.decide, {"decision": "reject"}, name="reject"),
]
