"""Real servers on 127.0.0.1 for the outbound engine's tests.

* :func:`make_oauth_app`: an OAuth 2.0 authorization server and a protected API (Starlette under uvicorn). It checks
  everything itself, with code independent of the client: client authentication (``client_secret_basic`` with the
  RFC 6749 §2.3.1 form-encoding, ``client_secret_post``, public clients), the grants (client credentials, password,
  authorization code with PKCE S256 checked by hashlib, refresh tokens rotated on every use, with reuse of a rotated
  one revoking the family as RFC 9700 §4.14.2 says), JWT assertions verified with PyJWT (signature, ``aud``, ``exp``,
  ``iat``, ``jti`` never seen before), and body signatures (HMAC with hashlib, RSA with cryptography).
* :class:`TlsServer`: a stdlib HTTPS server that requires a client certificate from the test CA and answers with the
  certificate's subject; it also has a token endpoint for ``tls_client_auth``.
* :class:`Canary`: a TCP listener that only counts connections.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode

import jwt as pyjwt
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


def rsa_key() -> tuple[str, str]:
    """Return a new RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class Client:
    secret: str | None = None
    methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    jwt_key: str | None = None  # HS256 secret or RSA public PEM
    jwt_algs: tuple[str, ...] = ()
    redirect_uri: str | None = None


@dataclass
class OAuthState:
    base_url: str = ""
    clients: dict[str, Client] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    lifetime: int | None = 3600
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client, expiry)
    refresh: dict[str, tuple[str, str]] = field(default_factory=dict)  # live refresh token -> (client, family)
    used_refresh: dict[str, str] = field(default_factory=dict)  # rotated-out token -> family
    revoked_families: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen_jti: set[str] = field(default_factory=set)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    api_requests: list[dict[str, Any]] = field(default_factory=list)
    hmac_secret: bytes = b""
    x509_keys: dict[str, str] = field(default_factory=dict)  # certificate id -> public PEM
    lock: threading.Lock = field(default_factory=threading.Lock)
    token_delay: float = 0.0

    def issue(self, client_id: str, *, family: str | None = None, refresh: bool = True) -> dict[str, Any]:
        access = "AT-" + secrets.token_hex(16)
        expiry = time.time() + self.lifetime if self.lifetime else float("inf")
        self.access[access] = (client_id, expiry)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if self.lifetime:
            body["expires_in"] = self.lifetime
        if refresh:
            token = "RT-" + secrets.token_hex(16)
            self.refresh[token] = (client_id, family or secrets.token_hex(8))
            body["refresh_token"] = token
        return body

    def expire_all_access(self) -> None:
        self.access = {k: (c, 0.0) for k, (c, _e) in self.access.items()}


def _error(error: str, description: str = "", status: int = 400) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _check_assertion(state: OAuthState, assertion: str, client_id: str | None) -> str:
    """Verify a JWT assertion independently (PyJWT); return the client id or raise ValueError."""
    header = pyjwt.get_unverified_header(assertion)
    claims = pyjwt.decode(assertion, options={"verify_signature": False})
    issuer = str(claims.get("iss"))
    client = state.clients.get(issuer)
    if client is None or client.jwt_key is None:
        raise ValueError(f"unknown issuer {issuer}")
    if header.get("alg") not in client.jwt_algs:
        raise ValueError(f"alg {header.get('alg')} not allowed")
    verified = pyjwt.decode(
        assertion,
        client.jwt_key,
        algorithms=list(client.jwt_algs),
        audience=f"{state.base_url}/token",
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    if verified["sub"] != issuer or (client_id is not None and client_id != issuer):
        raise ValueError("sub must be the client id")
    if verified["exp"] - verified["iat"] > 600 or verified["iat"] > time.time() + 10:
        raise ValueError("exp too far or iat in the future")
    with state.lock:
        if verified["jti"] in state.seen_jti:
            raise ValueError("jti reused")
        state.seen_jti.add(verified["jti"])
    return issuer


def make_oauth_app(state: OAuthState) -> Starlette:
    async def read_params(request: Request) -> dict[str, str]:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(await request.body())
            return {str(k): str(v) for k, v in data.items()}
        form = await request.form()
        return {k: str(v) for k, v in form.items()}

    def authenticate(request: Request, params: dict[str, str]) -> str | JSONResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if params.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            try:
                return _check_assertion(state, params.get("client_assertion", ""), params.get("client_id"))
            except (ValueError, pyjwt.PyJWTError) as exc:
                return _error("invalid_client", str(exc), 401)
        if scheme == "Bearer":  # the JWT as a bearer credential of the token request
            try:
                return _check_assertion(state, value, None)
            except (ValueError, pyjwt.PyJWTError) as exc:
                return _error("invalid_client", str(exc), 401)
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            client_id, secret, method = unquote_plus(user), unquote_plus(password), "client_secret_basic"
        elif "client_secret" in params:
            client_id, secret, method = params.get("client_id", ""), params["client_secret"], "client_secret_post"
        else:
            client_id, secret, method = params.get("client_id", ""), None, "none"
        client = state.clients.get(client_id)
        if client is None or method not in client.methods:
            return _error("invalid_client", f"client {client_id!r} may not use {method}", 401)
        if method != "none" and not hmac.compare_digest((client.secret or "").encode(), (secret or "").encode()):
            return _error("invalid_client", "wrong secret", 401)
        return client_id

    async def token(request: Request) -> Response:
        params = await read_params(request)
        with state.lock:
            state.token_requests.append(params)
        if state.token_delay:
            await asyncio.sleep(state.token_delay)  # a slow token endpoint widens the race window
        grant = params.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            try:
                client_id = _check_assertion(state, params.get("assertion", ""), None)
            except (ValueError, pyjwt.PyJWTError) as exc:
                return _error("invalid_grant", str(exc))
            return JSONResponse(state.issue(client_id, refresh=False), headers={"Cache-Control": "no-store"})
        who = authenticate(request, params)
        if isinstance(who, JSONResponse):
            return who
        if grant == "client_credentials":
            return JSONResponse(state.issue(who, refresh=False), headers={"Cache-Control": "no-store"})
        if grant == "password":
            user, password = params.get("username", ""), params.get("password", "")
            if user not in state.users or not hmac.compare_digest(state.users[user].encode(), password.encode()):
                return _error("invalid_grant", "wrong user or password")
            return JSONResponse(state.issue(who), headers={"Cache-Control": "no-store"})
        if grant == "authorization_code":
            with state.lock:
                code = state.codes.pop(params.get("code", ""), None)
            if code is None or code["client_id"] != who or code["redirect_uri"] != params.get("redirect_uri"):
                return _error("invalid_grant", "unknown or used code")
            if code["challenge"] is not None:
                verifier = params.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(digest, code["challenge"]):
                    return _error("invalid_grant", "PKCE verification failed")
            return JSONResponse(state.issue(who), headers={"Cache-Control": "no-store"})
        if grant == "refresh_token":
            presented = params.get("refresh_token", "")
            with state.lock:
                live = state.refresh.pop(presented, None)
                if live is None:
                    family = state.used_refresh.get(presented)
                    if family is not None:  # a rotated-out token came back: revoke the whole family
                        state.revoked_families.add(family)
                        for token_, (_c, fam) in list(state.refresh.items()):
                            if fam == family:
                                del state.refresh[token_]
                    return _error("invalid_grant", "refresh token unknown, used or revoked")
                client_id, family = live
                state.used_refresh[presented] = family
                if client_id != who:
                    return _error("invalid_grant", "refresh token of another client")
                return JSONResponse(state.issue(who, family=family), headers={"Cache-Control": "no-store"})
        return _error("unsupported_grant_type", str(grant))

    async def authorize(request: Request) -> Response:
        q = request.query_params
        client = state.clients.get(q.get("client_id", ""))
        if client is None or q.get("response_type") != "code" or q.get("redirect_uri") != client.redirect_uri:
            return _error("invalid_request", "bad client or redirect_uri")
        method = q.get("code_challenge_method")
        if "none" in client.methods and method != "S256":  # public clients must use PKCE S256
            return _error("invalid_request", "PKCE S256 required")
        code = "C-" + secrets.token_hex(8)
        with state.lock:
            state.codes[code] = {
                "client_id": q["client_id"],
                "redirect_uri": q["redirect_uri"],
                "challenge": q.get("code_challenge") if method == "S256" else None,
            }
        return RedirectResponse(f"{client.redirect_uri}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    def bearer_ok(request: Request) -> str | None:
        access = request.headers.get("authorization", "").removeprefix("Bearer ")
        found = state.access.get(access)
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    async def api(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            state.api_requests.append({"path": request.url.path, "headers": dict(request.headers)})
        who = bearer_ok(request)
        if who is None:
            return JSONResponse({"detail": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse({"client": who, "body": body.decode()})

    async def open_api(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            state.api_requests.append({"path": request.url.path, "headers": dict(request.headers)})
        return JSONResponse(
            {"headers": dict(request.headers), "query": dict(request.query_params), "body": body.decode()}
        )

    async def sig_secret(request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("x-timestamp")
        message = body if timestamp is None else timestamp.encode() + b"." + body
        if timestamp is not None and abs(time.time() - int(timestamp)) > 300:
            return JSONResponse({"detail": "stale"}, status_code=401)
        expected = "sha256=" + hmac.new(state.hmac_secret, message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
            return JSONResponse({"detail": "bad signature"}, status_code=401)
        return JSONResponse({"ok": True, "body": body.decode()})

    async def sig_x509(request: Request) -> Response:
        body = await request.body()
        public = state.x509_keys.get(request.headers.get("x-cert-id", ""))
        if public is None:
            return JSONResponse({"detail": "unknown certificate"}, status_code=401)
        key = serialization.load_pem_public_key(public.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        signature = base64.b64decode(request.headers.get("x-body-signature", ""))
        pad: padding.AsymmetricPadding
        if request.query_params.get("alg") == "ps256":
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        else:
            pad = padding.PKCS1v15()
        try:
            key.verify(signature, body, pad, hashes.SHA256())
        except Exception:  # noqa: BLE001 - any failure is a bad signature
            return JSONResponse({"detail": "bad signature"}, status_code=401)
        return JSONResponse({"ok": True})

    async def redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=int(request.query_params.get("status", 302)))

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/authorize", authorize),
            Route("/api/{rest:path}", api, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/open/{rest:path}", open_api, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/sig/secret", sig_secret, methods=["POST"]),
            Route("/sig/x509", sig_x509, methods=["POST"]),
            Route("/redirect", redirect, methods=["GET", "POST"]),
        ]
    )


class Uvicorn(threading.Thread):
    """uvicorn serving an app in a thread on 127.0.0.1."""

    def __init__(self, app: Any, host: str = "127.0.0.1", **ssl: Any) -> None:
        super().__init__(daemon=True)
        self.port = free_port()
        self.host = host
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="off", **ssl)
        )
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run(self) -> None:
        self.server.run()

    def __enter__(self) -> Uvicorn:
        self.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.join(timeout=15)


class TlsServer(threading.Thread):
    """An HTTPS server requiring a client certificate; ``/whoami`` answers its subject, ``/token`` issues tokens."""

    def __init__(self, context: ssl.SSLContext, client_ids: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.port = free_port()
        self.client_ids = client_ids  # certificate common name -> client id allowed to use tls_client_auth
        self.tokens: set[str] = set()
        self.token_requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _subject(self) -> str:
                cert = self.connection.getpeercert()  # type: ignore[attr-defined]
                return dict(x[0] for x in cert["subject"]).get("commonName", "")

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if self.path.startswith("/protected") and token not in outer.tokens:
                    self._send(401, {"detail": "invalid_token"})
                    return
                self._send(200, {"subject": self._subject()})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                outer.token_requests += 1
                expected = outer.client_ids.get(self._subject())
                if self.path != "/token" or "client_secret" in form or form.get("client_id") != expected:
                    self._send(401, {"error": "invalid_client"})
                    return
                token = "TLS-" + secrets.token_hex(8)
                outer.tokens.add(token)
                self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def run(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)

    def __enter__(self) -> TlsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Canary(threading.Thread):
    """Counts TCP connections to ``host``; a guarded client must never make one."""

    def __init__(self, host: str = "127.0.0.3") -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def __enter__(self) -> Canary:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.sock.close()


@contextmanager
def forward_proxy(user: str, password: str) -> Iterator[str]:
    """A real forward proxy (proxy.py) on 127.0.0.1 with basic authentication; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--basic-auth",
            f"{user}:{password}",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("proxy.py did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
