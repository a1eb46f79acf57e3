"""Error pages: JSON under the machine interfaces, Django's HTML pages elsewhere.

A URL under /api/ or /v1/ that matches no route (``/api/v1/exceptions/0.5``), or a request
Django itself refuses before DRF sees it (too many form fields, a bad Host), is answered by
these handlers: their HTML page would reach a client that reads JSON.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

MACHINE_PREFIXES = ("/api/", "/v1/")


def _for_machines(request: HttpRequest) -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_machines(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_machines(request):
        return JsonResponse({"detail": "Forbidden."}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _for_machines(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _for_machines(request):
        return JsonResponse(
            {"detail": "Internal error; the server log has the details."}, status=500
        )
    return defaults.server_error(request)
