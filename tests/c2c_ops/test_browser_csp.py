"""Every page in real chromium under the enforced Content-Security-Policy: the browser
reports no violation and the charts still draw (plotly), as do the API docs and the admin."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboards.models import SavedView
from tests.dashboards.helpers import report, step
from tests.exceptions.helpers import failed_case

from ..browser import shot
from ..dashboards.pages.scenario import build
from ..dashboards.pages.test_browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

# Records every securitypolicyviolation event, from before the page's own scripts run.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " +
                    (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def ledger(ingest_client) -> None:
    build(ingest_client)
    now = timezone.now()
    report(
        ingest_client,
        step("P-CON", "work_approved", now - timedelta(hours=10), amount="400.00",
             currency="USD", region="EMEA", contract="C-CSP"),
        step("P-CON", "invoice_generated", now - timedelta(hours=9)),
    )  # fmt: skip
    call_command("compute_metrics", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_every_page_renders_without_a_csp_violation(
    live_server, page, admin_user, ingest_client, flow
):
    ledger(ingest_client)
    case = failed_case(ingest_client, "SOW-CSP")
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.add_init_script(WATCH)
    base = live_server.url
    sign_in(page, base, admin_user)  # the sign-in page's own violations land in ``console``

    pages = {
        "overview": ("/", "#chart-risk .plot[data-drawn] .main-svg"),
        "transactions": ("/transactions/", "#count:not(:has-text('counting'))"),
        "transaction": ("/transactions/P-CON/", "#waterfall"),
        "reports": ("/reports/", "#total:not(:has-text('counting'))"),
        "contracts": ("/contracts/", "main h1"),
        "contract": ("/contracts/C-CSP/", "#figures"),
        "flows": ("/flows/", "main h1"),
        "flow": (f"/flows/{flow.slug}/", "main h1"),
        "exceptions": ("/exceptions/", f"#case-{case.pk}"),
        "case": (f"/exceptions/{case.pk}/", "main h1"),
        "notifications": ("/exceptions/notifications/", "main h1"),
        "api-docs": ("/api/docs/", ".swagger-ui .opblock"),
        "admin": ("/admin/", "#content-main"),
        "admin-form": (f"/admin/auth/user/{admin_user.pk}/change/", "#user_form"),
    }
    for name, (path, ready) in pages.items():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, (name, response.status)
        assert "default-src 'self'" in response.headers["content-security-policy"], name
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        if name == "overview":
            assert page.locator(".js-plotly-plot").count() >= 6
            # The mode bar's per-chart rules go in through CSSOM: hover one to use them.
            page.locator("#chart-risk .plot").hover()
        violations = page.evaluate("window.__csp")
        blocked = [line for line in console if "Content Security Policy" in line or "CSP" in line]
        shot(page, f"csp-{name}")
        assert violations == [] and blocked == [], (name, violations, blocked, console)


def test_save_view_keeps_filters_changed_in_place(live_server, page, viewer, ingest_client):
    # The form's query used to be filled by an inline onsubmit; static/js/app.js does it now.
    build(ingest_client)
    page.add_init_script(WATCH)
    sign_in(page, live_server.url, viewer)
    page.select_option("form.filterbar select[name=region]", "NA")
    page.wait_for_url("**/?*region=NA*")
    page.locator("details.saved-views summary").click()
    page.fill("form[data-save-view] input[name=name]", "North America")
    page.locator("form[data-save-view] button[type=submit]").click()
    page.wait_for_load_state()
    saved = SavedView.objects.get(user=viewer, name="North America")
    assert "region=NA" in saved.url
    assert page.evaluate("window.__csp") == []
