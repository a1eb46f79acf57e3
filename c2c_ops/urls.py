from csp.decorators import csp_update
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tracking.api.traces import export_traces

from . import health
from .metrics import views as metrics_views
from .sso import views as sso


def favicon(request) -> HttpResponsePermanentRedirect:
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, for one). The
    # icon's URL is looked up per request: in production it comes from the static manifest,
    # which does not exist until collectstatic has run.
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# The split view serves Swagger UI's start-up script as a file (?script), not inline: the
# Content-Security-Policy refuses inline scripts. Swagger UI draws its icons from data: URLs,
# which only this page's policy allows (enforced or report-only, whichever is configured).
_SWAGGER_IMAGES = {"img-src": ["data:"]}
api_docs = csp_update(_SWAGGER_IMAGES)(
    csp_update(_SWAGGER_IMAGES, REPORT_ONLY=True)(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html")
    )
)


urlpatterns = [
    path("exceptions/", include("exceptions.urls")),
    path("v1/traces", export_traces, name="otlp-traces"),
    path("api/v1/", include("tracking.api.urls")),
    path("api/v1/", include("dashboards.api.urls")),
    path("api/v1/", include("exceptions.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    # Ahead of Django's own: the sign-in page offers SSO and obeys PASSWORD_LOGIN, and
    # sign-out also ends the provider's session.
    path("accounts/login/", sso.SignInView.as_view(), name="login"),
    path("accounts/logout/", sso.SignOutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("oidc/authenticate/", sso.SsoStart.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", sso.callback, name="oidc_authentication_callback"),
    path("admin/login/", sso.admin_login),
    path("admin/", admin.site.urls),
    path("", include("dashboards.urls")),
]

handler400 = "c2c_ops.errors.bad_request"
handler403 = "c2c_ops.errors.forbidden"
handler404 = "c2c_ops.errors.not_found"
handler500 = "c2c_ops.errors.server_error"
