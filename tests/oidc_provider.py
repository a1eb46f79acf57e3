"""An OpenID Connect provider for the sign-in tests: Authlib's server on Flask, in memory.

Run in its own process (``Provider``, a context manager) on 127.0.0.1. It serves discovery,
JWKS, the authorization endpoint (code flow, PKCE S256 required), the token endpoint (real
ID tokens, RS256 or ES256 by client), userinfo and an end-session endpoint. The test drives
it through ``/test/...``: who may sign in with which groups, and switches that make it issue
a broken ID token (tampered, wrong audience, expired, HS256, unsigned).
"""

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.server import free_port

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = {
    # client id: (secret, ID token algorithm)
    "c2c-rs": ("rs-secret-0123456789abcdef", "RS256"),
    "c2c-es": ("es-secret-0123456789abcdef", "ES256"),
}


class Provider:
    """The provider in a subprocess; ``url`` is its issuer."""

    def __init__(self, redirect_uris: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redirect_uris = redirect_uris
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Provider":
        env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider", str(self.port),
             json.dumps(self.redirect_uris)],
            cwd=ROOT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the OIDC provider exited at start")
            try:
                httpx.get(f"{self.url}/.well-known/openid-configuration", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the OIDC provider did not start within 20 s")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)

    def user(self, username: str, groups: list[str], sub: str = "", email: str = "") -> None:
        """Adds or changes a person the provider will sign in."""
        body = {"username": username, "groups": groups, "sub": sub or f"sub-{username}",
                "email": email or f"{username}@corp.example"}  # fmt: skip
        httpx.post(f"{self.url}/test/users", json=body).raise_for_status()

    def switch(self, **switches: object) -> None:
        """tamper, audience (a wrong one), expired, alg ("HS256", "none"); {} resets."""
        httpx.post(f"{self.url}/test/switches", json=switches).raise_for_status()

    def sign_outs(self) -> list[dict]:
        return httpx.get(f"{self.url}/test/sign-outs").json()


# --- The provider process -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def create_app(port: int, redirect_uris: list[str]):
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.rfc6749 import ClientMixin, grants
    from authlib.oauth2.rfc7636 import CodeChallenge
    from authlib.oidc.core import UserInfo
    from authlib.oidc.core.grants import OpenIDCode
    from authlib.oidc.core.models import AuthorizationCodeMixin
    from flask import Flask, jsonify, redirect, request, session
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

    issuer = f"http://127.0.0.1:{port}"
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    keys = {
        "RS256": RSAKey.generate_key(2048, {"kid": "rs-1", "use": "sig", "alg": "RS256"}),
        "ES256": ECKey.generate_key("P-256", {"kid": "es-1", "use": "sig", "alg": "ES256"}),
    }
    users: dict[str, dict] = {}
    switches: dict = {}
    codes: dict[str, object] = {}
    tokens: dict[str, dict] = {}
    sign_outs: list[dict] = []

    class Client(ClientMixin):
        def __init__(self, client_id: str) -> None:
            self.client_id = client_id
            self.secret, self.id_token_signed_response_alg = CLIENTS[client_id]

        def get_client_id(self):
            return self.client_id

        def get_default_redirect_uri(self):
            return redirect_uris[0]

        def get_allowed_scope(self, scope):
            return " ".join(s for s in scope.split() if s in {"openid", "email", "profile"})

        def check_redirect_uri(self, redirect_uri):
            return redirect_uri in redirect_uris

        def check_client_secret(self, client_secret):
            return secrets.compare_digest(client_secret, self.secret)

        def check_endpoint_auth_method(self, method, endpoint):
            return method in {"client_secret_basic", "client_secret_post"}

        def check_response_type(self, response_type):
            return response_type == "code"

        def check_grant_type(self, grant_type):
            return grant_type == "authorization_code"

    class Code(AuthorizationCodeMixin):
        def __init__(self, **values) -> None:
            self.__dict__.update(values)

        def get_redirect_uri(self):
            return self.redirect_uri

        def get_scope(self):
            return self.scope

        def get_nonce(self):
            return self.nonce

        def get_auth_time(self):
            return self.auth_time

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, request):
            data = request.payload.data
            codes[code] = Code(
                code=code, client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri, scope=request.payload.scope,
                user=request.user, nonce=data.get("nonce"), auth_time=int(time.time()),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )  # fmt: skip

        def query_authorization_code(self, code, client):
            found = codes.get(code)
            return found if found and found.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code):
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce, request):
            return any(code.nonce == nonce for code in codes.values())

        def resolve_client_private_key(self, client):
            return keys[client.id_token_signed_response_alg]

        def get_encode_header(self, client):
            alg = client.id_token_signed_response_alg
            return {"alg": alg, "kid": keys[alg].kid, "typ": "JWT"}

        def get_client_claims(self, client):
            now = int(time.time())
            claims = {"iss": issuer, "aud": [switches.get("audience") or client.client_id]}
            if switches.get("expired"):
                claims.update(iat=now - 7200, exp=now - 3600)
            return claims

        def generate_user_info(self, user, scope):
            return UserInfo(
                sub=user["sub"], preferred_username=user["username"], email=user["email"],
                groups=user["groups"],
            )  # fmt: skip

        def encode_id_token(self, token, request):
            signed = super().encode_id_token(token, request)
            header, payload, signature = signed.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
            if switches.get("tamper"):
                claims["groups"] = ["c2c-admins"]  # the signature stays the old one
                return ".".join([header, _b64(json.dumps(claims).encode()), signature])
            if switches.get("alg") == "HS256":
                secret = OctKey.import_key(request.client.secret)
                return jose_jwt.encode({"alg": "HS256"}, claims, secret)
            if switches.get("alg") == "none":
                head = _b64(json.dumps({"alg": "none"}).encode())
                return f"{head}.{_b64(json.dumps(claims).encode())}."
            return signed

    def query_client(client_id):
        return Client(client_id) if client_id in CLIENTS else None

    def save_token(token, request):
        tokens[token["access_token"]] = request.user

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify({
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })  # fmt: skip

    @app.get("/jwks")
    def jwks():
        return jsonify(KeySet(list(keys.values())).as_dict(private=False))

    @app.get("/login")
    def login():
        # Stands in for the provider's own sign-in form: the test says who is at the browser.
        session["user"] = request.args["user"]
        return "signed in at the provider"

    @app.get("/authorize")
    def authorize():
        user = users.get(session.get("user", ""))
        if user is None:
            return "sign in at the provider first", 401
        # PKCE of every client, confidential ones too (as OAuth 2.1 asks); Authlib's
        # CodeChallenge insists on it for public clients only.
        uri = request.args.get("redirect_uri", "")
        if "code_challenge" not in request.args and uri in redirect_uris:
            query = urlencode({"error": "invalid_request", "state": request.args.get("state", "")})
            return redirect(f"{uri}?{query}")
        return server.create_authorization_response(grant_user=user)

    @app.post("/token")
    def token():
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo():
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user = tokens.get(bearer)
        if user is None:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify({"sub": user["sub"], "email": user["email"], "name": user["username"]})

    @app.get("/logout")
    def logout():
        sign_outs.append(dict(request.args))
        session.pop("user", None)
        target = request.args.get("post_logout_redirect_uri")
        return redirect(target) if target else "signed out at the provider"

    @app.post("/test/users")
    def set_user():
        body = request.get_json()
        users[body["username"]] = body
        return jsonify(body)

    @app.post("/test/switches")
    def set_switches():
        switches.clear()
        switches.update(request.get_json())
        return jsonify(switches)

    @app.get("/test/sign-outs")
    def get_sign_outs():
        return jsonify(sign_outs)

    return app


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port_arg = int(sys.argv[1])
    create_app(port_arg, json.loads(sys.argv[2])).run(
        host="127.0.0.1", port=port_arg, threaded=True
    )
