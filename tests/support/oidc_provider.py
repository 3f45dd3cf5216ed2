"""A minimal OpenID Connect provider on loopback, for single sign-on tests.

A small Flask app in a thread: discovery, JWKS, an authorisation endpoint that signs in
whoever `provider.user` says (no login page), and a token endpoint that checks the client
secret, the redirect URI and PKCE, then issues an RS256-signed ID token with the nonce.
`provider.tamper` makes it misbehave in one named way, to prove the client refuses it.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

from tests.support.servers import free_port


@dataclass
class OidcProvider:
    client_id: str = "townhall-test-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    user: dict = field(default_factory=dict)
    tamper: str | None = None              # "audience", "nonce", "expired", "signature", "issuer"
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict = field(default_factory=dict)
    token_requests: int = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Flask:
        app = Flask("oidc-provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"],
                           code_challenge_methods_supported=["S256"])

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            args = request.args
            if args.get("client_id") != self.client_id or args.get("response_type") != "code":
                return "unknown client", 400
            if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
                return "PKCE required", 400
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"redirect_uri": args["redirect_uri"], "nonce": args.get("nonce"),
                                "challenge": args["code_challenge"], "user": dict(self.user)}
            return redirect(f"{args['redirect_uri']}?code={code}&state={args['state']}")

        @app.post("/token")
        def token():
            self.token_requests += 1
            auth = request.authorization
            if not auth or (auth.username, auth.password) != (self.client_id, self.client_secret):
                return jsonify(error="invalid_client"), 401
            grant = self.codes.pop(request.form.get("code", ""), None)
            if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify(error="invalid_grant"), 400
            verifier = request.form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300,
                           id_token=self._id_token(grant))

        return app

    def _id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": grant["user"].get("sub", "user-1"), "aud": self.client_id,
                  "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **{k: v for k, v in grant["user"].items() if k != "sub"}}
        key = self.key
        if self.tamper == "audience":
            claims["aud"] = "someone-else"
        elif self.tamper == "nonce":
            claims["nonce"] = "replayed"
        elif self.tamper == "expired":
            claims.update(iat=now - 3600, exp=now - 1800)
        elif self.tamper == "issuer":
            claims["iss"] = "https://evil.example"
        elif self.tamper == "signature":
            key = RSAKey.generate_key(2048, parameters={"kid": "k1"})     # same kid, wrong key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def start_provider() -> tuple[OidcProvider, object]:
    provider = OidcProvider()
    server = make_server("127.0.0.1", provider.port, provider.app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider, server
