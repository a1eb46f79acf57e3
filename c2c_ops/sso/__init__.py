"""Enterprise sign-in with OpenID Connect (mozilla-django-oidc, adapted).

The identity provider is found by discovery from ``OIDC_ISSUER``; a person's c2c-ops role
comes from a claim of their ID token at every sign-in (``OIDC_ROLE_CLAIM``, mapped through
``OIDC_ROLE_MAP``). docs/configuration.md says how to connect Entra ID, Okta and Keycloak.
"""
