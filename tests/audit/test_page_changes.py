"""What a person changes from the app's own pages is in the audit log too: saved views and
the daily digest (personal, but an auditor asks who had figures mailed to them)."""

import pytest

from audit.models import AuditEntry
from dashboards.models import SavedView
from tests.conftest import browser

pytestmark = pytest.mark.django_db


def changes(**lookup):
    return list(AuditEntry.objects.filter(**lookup).exclude(action="sign_in").order_by("id"))


def test_a_saved_view_made_and_deleted(viewer):
    client = browser(viewer)
    form = {"path": "/transactions/", "query": "status=failed", "name": "Failed"}
    client.post("/views/", form)
    view = SavedView.objects.get()
    client.post(f"/views/{view.pk}/delete", {"back": "/"})
    made, deleted = changes(object_type="saved_view")
    assert (made.actor_name, made.action, made.object_id) == ("vera-viewer", "create", str(view.pk))
    assert made.after == {"name": "Failed", "path": "/transactions/", "query": "status=failed"}
    assert (deleted.action, deleted.before) == ("delete", made.after)


def test_a_refused_saved_view_logs_nothing(viewer):
    browser(viewer).post("/views/", {"path": "/transactions/", "query": "", "name": ""})
    assert not changes(object_type="saved_view")


def test_the_digest_subscription(viewer):
    viewer.email = "vera@example.com"
    viewer.save()
    client = browser(viewer)
    client.post("/exceptions/digest", {"subscribe": "yes"})
    client.post("/exceptions/digest", {"subscribe": "yes"})  # already: no second entry
    client.post("/exceptions/digest", {"subscribe": "no"})
    on, off = changes(object_type="digest_subscription")
    assert (on.action, on.after) == ("create", {"email": "vera@example.com"})
    assert (off.action, off.before) == ("delete", {"email": "vera@example.com"})
