"""Building :class:`httpx.Auth` objects from stored configuration, through a registry keyed by ``type``.

Each ``type`` of :data:`~deskbridge.http.auth.config.AuthConfig` has a builder: ``(config, context) -> httpx.Auth``.
The context carries what is not configuration: whose token it is (``credential_key``, e.g. integration and
instance), where tokens are kept (``store``), and the clock. Other packages add their own methods with
:func:`register_auth` (the desk's "connect to your desk" method does) and tests can register fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from deskbridge.exceptions import ConfigurationError
from deskbridge.http.auth import config as c
from deskbridge.http.auth.jwt_assertion import JwtAssertionAuth
from deskbridge.http.auth.oauth2 import OAuth2Auth
from deskbridge.http.auth.signing import SignBodySecretAuth, SignBodyX509Auth
from deskbridge.http.auth.static import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth
from deskbridge.http.auth.tokens import DEFAULT_STORE, TokenStore

__all__ = ["AuthContext", "Builder", "build_auth", "parse_auth", "register_auth", "registered", "unregister_auth"]


@dataclass(slots=True, frozen=True)
class AuthContext:
    """What a builder needs besides the configuration.

    Attributes:
        credential_key: Whose token a token method caches (e.g. ``"custom:42:prod"``); ``None``: the auth's own.
        store: Where token methods keep tokens.
        clock: POSIX clock for token expiry and timestamps.
    """

    credential_key: str | None = None
    store: TokenStore = field(default=DEFAULT_STORE)
    clock: Callable[[], float] = time.time


Builder = Callable[[Any, AuthContext], httpx.Auth]
_BUILDERS: dict[str, Builder] = {}


def register_auth(type_: str, builder: Builder) -> None:
    """Make ``build_auth`` use ``builder`` for configurations whose ``type`` is ``type_`` (replacing any)."""
    _BUILDERS[type_] = builder


def unregister_auth(type_: str) -> None:
    """Forget the builder of ``type_``."""
    _BUILDERS.pop(type_, None)


def registered() -> list[str]:
    """Return the types that have a builder."""
    return sorted(_BUILDERS)


_ADAPTER: TypeAdapter[c.AuthConfig] = TypeAdapter(c.AuthConfig)


def parse_auth(data: object) -> c.AuthConfig:
    """Validate stored data (a dict with ``type``) into its config model; raise :class:`ConfigurationError`."""
    from pydantic import ValidationError

    if isinstance(data, dict) and data.get("type") not in _BUILDERS:
        raise ConfigurationError(f"unknown auth type {data.get('type')!r}; expected one of {registered()}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(f"authorization {where}: {first['msg']}") from None


def build_auth(config: BaseModel | dict[str, Any], context: AuthContext | None = None) -> httpx.Auth:
    """Return the :class:`httpx.Auth` for ``config`` (a config model, or a dict validated first).

    Raises:
        ConfigurationError: The type has no builder, or a value is invalid.
    """
    model = parse_auth(config) if isinstance(config, dict) else config
    type_ = getattr(model, "type", None)
    builder = _BUILDERS.get(str(type_))
    if builder is None:
        raise ConfigurationError(f"unknown auth type {type_!r}; expected one of {registered()}")
    return builder(model, context or AuthContext())


def _oauth2(cfg: c.OAuth2Config, ctx: AuthContext) -> httpx.Auth:
    return OAuth2Auth(
        token_url=cfg.token_url,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        grant=cfg.grant,
        scope=cfg.scope,
        client_auth=cfg.client_auth,
        username=cfg.username,
        password=cfg.password,
        authorize_url=cfg.authorize_url,
        redirect_uri=cfg.redirect_uri,
        token_request=cfg.token_request,
        extra_params=cfg.extra_params,
        token_expiry_minutes=cfg.token_expiry_minutes,
        credential_key=ctx.credential_key,
        store=ctx.store,
        clock=ctx.clock,
    )


def _jwt(cfg: c.JwtAssertionConfig, ctx: AuthContext) -> httpx.Auth:
    return JwtAssertionAuth(
        token_url=cfg.token_url,
        algorithm=cfg.algorithm,
        key=cfg.key,
        key_password=cfg.key_password,
        key_id=cfg.key_id,
        issuer=cfg.issuer,
        subject=cfg.subject,
        audience=cfg.audience,
        lifetime=cfg.lifetime,
        extra_claims=cfg.extra_claims,
        delivery=cfg.delivery,
        client_id=cfg.client_id,
        scope=cfg.scope,
        token_request=cfg.token_request,
        token_expiry_minutes=cfg.token_expiry_minutes,
        credential_key=ctx.credential_key,
        store=ctx.store,
        clock=ctx.clock,
    )


def _builtins() -> dict[str, Builder]:
    return {
        "none": lambda cfg, ctx: NoAuth(),
        "mtls": lambda cfg, ctx: NoAuth(),  # the certificate is on the connection (see http.connection)
        "api_key": lambda cfg, ctx: ApiKeyAuth(key=cfg.key, name=cfg.name, location=cfg.location, prefix=cfg.prefix),
        "bearer": lambda cfg, ctx: BearerAuth(token=cfg.token),
        "basic": lambda cfg, ctx: BasicAuth(username=cfg.username, password=cfg.password),
        "oauth2": _oauth2,
        "jwt_assertion": _jwt,
        "sign_body_x509": lambda cfg, ctx: SignBodyX509Auth(
            private_key=cfg.private_key,
            key_password=cfg.key_password,
            certificate_id=cfg.certificate_id,
            algorithm=cfg.algorithm,
            signature_header=cfg.signature_header,
            certificate_id_header=cfg.certificate_id_header,
            encoding=cfg.encoding,
        ),
        "sign_body_secret": lambda cfg, ctx: SignBodySecretAuth(
            secret=cfg.secret,
            header=cfg.header,
            encoding=cfg.encoding,
            prefix=cfg.prefix,
            timestamp_header=cfg.timestamp_header,
            clock=ctx.clock,
        ),
    }


for _type, _builder in _builtins().items():
    register_auth(_type, _builder)
