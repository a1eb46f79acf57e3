"""The Content-Security-Policy and the other browser-security headers, on every kind of
page; and no template carries what that policy would refuse (inline script, handler, style).
tests/c2c_ops/test_browser_csp.py checks the same pages in chromium."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from c2c_ops.staticfinders import PLOTLY_DIR
from tests.conftest import browser

from .test_settings import manage

ROOT = Path(__file__).resolve().parents[2]
# E-mails are read in mail clients, not under the site's policy: inline style is all they get.
EMAILS = ("exceptions/templates/exceptions/alerts/",)
INLINE = {
    "inline script": re.compile(
        r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
    ),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.S)


def directives(header: str) -> dict[str, set[str]]:
    found = {}
    for part in header.split(";"):
        name, *values = part.split()
        found[name] = set(values)
    return found


def templates() -> list[Path]:
    paths = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    return [p for p in paths if not str(p.relative_to(ROOT)).startswith(EMAILS)]


def test_the_scan_finds_the_templates_and_what_it_looks_for():
    names = {str(p.relative_to(ROOT)) for p in templates()}
    assert {"templates/base.html", "templates/partials/filterbar.html"} <= names
    assert "dashboards/templates/dashboards/overview.html" in names
    assert INLINE["event handler"].search('<form onsubmit="x()">')
    assert INLINE["inline script"].search("<script>alert(1)</script>")
    assert not INLINE["inline script"].search('<script src="/static/js/app.js" defer></script>')
    assert not INLINE["inline script"].search('<script type="application/json" id="f">')
    assert INLINE["style attribute"].search('<p style="width: 40%">')


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_script_handlers_or_style(path):
    text = COMMENTS.sub("", path.read_text())
    found = [kind for kind, pattern in INLINE.items() if pattern.search(text)]
    assert found == [], f"{path.relative_to(ROOT)}: {found}; use a static file (CSP)"


def check_headers(response) -> dict[str, set[str]]:
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"}
    assert policy["object-src"] == {"'none'"}
    assert policy["base-uri"] == {"'self'"}
    assert policy["form-action"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"}
    assert "'self'" in policy["style-src"]
    for values in policy.values():
        assert not values & {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"}
        assert not any("://" in value for value in values), "no outside host"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    return policy


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/transactions/", "/reports/", "/exceptions/", "/flows/", "/admin/"]
)
def test_pages_send_the_policy_and_headers(admin_user, path):
    response = browser(admin_user).get(path)
    assert response.status_code == 200
    policy = check_headers(response)
    assert policy["img-src"] == {"'self'"}


@pytest.mark.django_db
def test_the_sign_in_page_sends_the_policy(client):
    check_headers(client.get("/accounts/login/"))


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_a_file_and_allow_data_images(client):
    response = client.get("/api/docs/")
    policy = check_headers(response)
    # Swagger UI's icons are data: URLs; only this page allows them.
    assert policy["img-src"] == {"'self'", "data:"}
    html = response.content.decode()
    assert '<script src="/api/docs/?script="></script>' in html
    assert "<style" not in html and "/static/css/api_docs.css" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_htmx_is_told_not_to_inject_styles_nor_evaluate(viewer):
    html = browser(viewer).get("/").content.decode()
    assert '"includeIndicatorStyles": false' in html and '"allowEval": false' in html
    assert '<script src="/static/js/app.js" defer></script>' in html
    css = (ROOT / "static/css/app.css").read_text()
    assert ".htmx-indicator" in css


def test_the_plotly_style_hash_matches_the_installed_plotly():
    # plotly.js injects the stylesheet of the map library it bundles as it loads; the policy
    # allows exactly that text. A plotly upgrade that changes it fails here, with the hash.
    source = (PLOTLY_DIR / "plotly.min.js").read_text()
    injected = re.findall(r"e\.id=\"[0-9a-f]{64}\",e\.textContent='([^']*)'", source)
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
        for css in injected
    }
    assert hashes == {settings.CSP_PLOTLY_MAPLIBRE_STYLE_HASH}
    empty = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert f"'sha256-{empty}'" == settings.CSP_EMPTY_STYLE_HASH


def last_line(result) -> list[str]:
    return result.stdout.strip().splitlines()[-1].split()


def test_csp_report_only_sends_the_policy_as_a_report():
    script = (
        "from django.conf import settings; "
        "print(hasattr(settings, 'CONTENT_SECURITY_POLICY'), "
        "hasattr(settings, 'CONTENT_SECURITY_POLICY_REPORT_ONLY'))"
    )
    assert last_line(manage("shell", "-c", script)) == ["True", "False"]
    assert last_line(manage("shell", "-c", script, CSP_REPORT_ONLY="true")) == ["False", "True"]
