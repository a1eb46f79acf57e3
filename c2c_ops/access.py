"""Page access for every app's pages: sign-in first, then the role's scope (viewer reads,
operator acts, admin configures)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from tracking.roles import user_scopes


def needs(scope: str):
    def decorate(view):
        @login_required
        @wraps(view)
        def checked(request, *args, **kwargs):
            if scope not in user_scopes(request.user):
                raise PermissionDenied(f"This needs the {scope} scope, which your role lacks.")
            return view(request, *args, **kwargs)

        return checked

    return decorate


def respond(request, template: str, context: dict):
    """Render a page or one of its fragments; the answer differs by HX-Request, so say so
    to caches (``Vary``)."""
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def query_without(request, *names: str) -> str:
    """The request's query string without ``names`` (a page number, a cursor...)."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def htmx_partial(request) -> bool:
    """A fragment for htmx, the whole page for a normal (or boosted) request."""
    return bool(request.htmx) and not request.htmx.boosted
