"""DRF authentication by flow key, and permissions by scope (keys) or role (people)."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from ..keys import KeyUser, bearer_key, verify
from ..models import FlowAPIKey
from ..roles import user_scopes


class FlowKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = bearer_key(request.META)
        if key is None:
            return None
        api_key = verify(key)
        if api_key is None:
            raise AuthenticationFailed("The API key is unknown, revoked or expired.")
        return KeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="c2c-ops"'


class ScopePermission(BasePermission):
    """Keys need the scope; signed-in people need a role that grants it."""

    scope = ""
    message = "This credential does not have the required scope."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, FlowAPIKey):
            return request.auth.has_scope(self.scope)
        return self.scope in user_scopes(request.user)


class CanIngest(ScopePermission):
    scope = "ingest"
    message = "This API key does not have the ingest scope."


class CanRead(ScopePermission):
    scope = "read"
    message = "Reading the ledger needs the read scope or the viewer role."


class CanOperate(ScopePermission):
    scope = "operate"
    message = "Acting on exceptions needs the operate scope or the operator role."
