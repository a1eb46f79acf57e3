"""Page access for every app's pages: sign-in first, then the role's scope (viewer reads,
operator acts, admin configures)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

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


def htmx_partial(request) -> bool:
    """A fragment for htmx, the whole page for a normal (or boosted) request."""
    return bool(request.htmx) and not request.htmx.boosted
