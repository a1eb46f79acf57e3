"""OpenAPI description of the flow-key authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class FlowKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tracking.api.auth.FlowKeyAuthentication"
    name = "flowKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A flow's API key (`manage.py create_api_key`), with the scope the "
            "endpoint needs: ingest, read or operate.",
        }
