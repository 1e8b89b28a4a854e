"""From a stored definition to the engine's :class:`~deskbridge.http.connection.ConnectionConfig`, and the client.

:func:`resolve` decides, for one call, the base URL, the authorization and everything else the engine needs:

* a method's own authorization replaces the integration's (``inherit``: the integration's);
* ``system_integration``: the built-in integration's stored connection (its URL and key, see
  :meth:`deskbridge.integrations.base.Integration.custom_connection`) gives the base URL (unless one is set) and
  the authorization;
* ``desk``: the desk's own URL and a JWT assertion of the automation identity (:mod:`deskbridge.auth.assertions`);
* the certificate references become certificates with their keys, from the store;
* ``instance_credentials``: the instance's client id and secret replace the OAuth 2.0 client's;
* a code grant without ``redirect_uri`` gets the desk's redirect endpoint, ``<desk>/api/oauth/callback``.

Every problem is a :class:`~deskbridge.exceptions.ValidationError` naming the field at fault.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic
from pydantic import BaseModel, SecretStr
from sqlalchemy.orm import Session

from deskbridge.auth import assertions
from deskbridge.auth import service as auth_service
from deskbridge.auth.models import ApiApplication
from deskbridge.custom.authorization import (
    DeskConfig,
    InheritConfig,
    StoredJwtAssertion,
    StoredMtls,
    StoredOAuth2,
    StoredSignBodyX509,
)
from deskbridge.custom.certificates import service as certificates
from deskbridge.custom.errors import validation_error
from deskbridge.custom.integrations.schemas import IntegrationIn
from deskbridge.custom.tokens import DbTokenStore, credential_key
from deskbridge.db import Database
from deskbridge.exceptions import AuthenticationError, ConfigurationError, NotFoundError, ValidationError
from deskbridge.http.auth.config import (
    AuthConfig,
    JwtAssertionConfig,
    MtlsConfig,
    OAuth2Config,
    SignBodyX509Config,
)
from deskbridge.http.auth.registry import AuthContext, build_auth
from deskbridge.http.auth.tokens import MemoryTokenStore
from deskbridge.http.connection import ConnectionConfig, ProxyConfig, build_connection_client
from deskbridge.http.guard import OutboundGuard
from deskbridge.http.mtls import ssl_context
from deskbridge.integration_settings import service as integration_service
from deskbridge.integration_settings.models import IntegrationConfig
from deskbridge.integrations import registry
from deskbridge.security.secretbox import SecretBox

__all__ = ["CALLBACK_PATH", "Target", "check", "engine_auth", "open_client", "resolve"]

CALLBACK_PATH = "/api/oauth/callback"
_CODE_GRANTS = ("authorization_code", "authorization_code_pkce")
_DESK_ASSERTION_LIFETIME = 120

Loc = tuple[str | int, ...]


@dataclass(slots=True, frozen=True)
class Target:
    """Everything the engine needs for one call.

    Attributes:
        config: The connection (base URL, engine authorization, access, proxy, TLS).
        credential_key: Whose tokens the authorization uses.
        allow: Networks the SSRF guard allows besides ``DESKBRIDGE_OUTBOUND_ALLOW`` (the desk's own, for ``desk``).
    """

    config: ConnectionConfig
    credential_key: str
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())


def _desk_auth(
    session: Session, *, box: SecretBox, auth: DeskConfig, desk_url: str, loc: Loc
) -> tuple[JwtAssertionConfig, str]:
    app = session.get(ApiApplication, auth.application_id)
    where = (*loc, "application_id")
    if app is None:
        raise ValidationError.single(*where, msg=f"API application {auth.application_id} does not exist")
    if not app.active:
        raise ValidationError.single(*where, msg=f"API application {app.name!r} is disabled")
    private = assertions.ensure_key_pair(session, box=box, app=app)
    token_url = f"{desk_url}/auth/token"
    config = JwtAssertionConfig(
        token_url=token_url,
        algorithm="RS256",
        key=SecretStr(private),
        key_id=app.key_id,
        issuer=app.client_id,
        audience=token_url,
        lifetime=_DESK_ASSERTION_LIFETIME,
        delivery="client_assertion",
    )
    try:  # a disabled agent is reported here rather than by the token endpoint
        auth_service.check_usable(session, app)
    except AuthenticationError as exc:
        raise ValidationError.single(*where, msg=f"API application {app.name!r}: {exc}") from None
    return config, desk_url


def engine_auth(
    session: Session, *, box: SecretBox, auth: BaseModel, desk_url: str, loc: Loc = ("authorization",)
) -> AuthConfig:
    """Return the engine's configuration for a stored authorization (not ``desk`` or ``inherit``)."""
    if isinstance(auth, StoredMtls):
        cert = certificates.client_certificate(session, box=box, id=auth.certificate, field=(*loc, "certificate"))
        return MtlsConfig(client_certificate=cert)
    if isinstance(auth, StoredOAuth2):
        data: dict[str, Any] = auth.model_dump(exclude={"client_certificate"})
        if auth.client_certificate is not None:
            data["client_certificate"] = certificates.client_certificate(
                session, box=box, id=auth.client_certificate, field=(*loc, "client_certificate")
            )
        if auth.grant in _CODE_GRANTS and not auth.redirect_uri:
            data["redirect_uri"] = desk_url + CALLBACK_PATH
        return OAuth2Config.model_validate(data)
    if isinstance(auth, StoredJwtAssertion):
        data = auth.model_dump(exclude={"certificate"})
        if auth.certificate is not None:
            data["key"] = certificates.private_key(session, box=box, id=auth.certificate, field=(*loc, "certificate"))
            data["key_id"] = auth.key_id or certificates.thumbprint(session, id=auth.certificate)
        return JwtAssertionConfig.model_validate(data)
    if isinstance(auth, StoredSignBodyX509):
        data = auth.model_dump(exclude={"certificate"})
        if auth.certificate is not None:
            data["private_key"] = certificates.private_key(
                session, box=box, id=auth.certificate, field=(*loc, "certificate")
            )
            data["certificate_id"] = auth.certificate_id or certificates.thumbprint(session, id=auth.certificate)
        return SignBodyX509Config.model_validate(data)
    if isinstance(auth, DeskConfig | InheritConfig):  # pragma: no cover - resolved by the caller
        raise TypeError(f"{auth.type} is resolved by resolve()")
    return auth  # type: ignore[return-value]  # none, api_key, bearer, basic, sign_body_secret: engine models


def _system(session: Session, *, box: SecretBox, name: str) -> tuple[str, AuthConfig]:
    try:
        plugin = registry.get(name)
    except NotFoundError as exc:
        raise ValidationError.single("system_integration", msg=str(exc)) from None
    row = session.get(IntegrationConfig, plugin.name)
    if row is None:
        raise ValidationError.single(
            "system_integration", msg=f"{name} is not configured yet: set it up at /api/integrations/{name} first"
        )
    state = integration_service.runtime_state(session, plugin, box=box, instance=row.instance or "default")
    try:
        settings = plugin.settings_model.model_validate(state.settings)
    except pydantic.ValidationError:
        raise ValidationError.single(
            "system_integration", msg=f"the stored settings of {name} are incomplete; fix them at /api/integrations"
        ) from None
    connection = plugin.custom_connection(settings=settings)
    if connection is None:
        raise ValidationError.single("system_integration", msg=f"{name} has no connection custom integrations can use")
    return connection


def _desk_networks(desk_url: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    url = httpx.URL(desk_url)
    try:
        infos = socket.getaddrinfo(url.host, url.port or (443 if url.scheme == "https" else 80))
    except OSError:
        return ()
    return tuple({ipaddress.ip_network(str(info[4][0]).split("%")[0]) for info in infos})


def resolve(
    session: Session,
    *,
    box: SecretBox,
    integration_id: int,
    definition: IntegrationIn,
    desk_url: str,
    method_auth: BaseModel | None = None,
    method_id: int | None = None,
    instance: str | None = None,
) -> Target:
    """Return what the engine needs to call the integration (see the module docstring); needs a write session."""
    own = method_auth is not None and not isinstance(method_auth, InheritConfig)
    stored: BaseModel = method_auth if own and method_auth is not None else definition.authorization
    loc: Loc = ("authorization",)
    base_url = definition.base_url
    engine: AuthConfig | None = None
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    if definition.system_integration:
        system_url, system_auth = _system(session, box=box, name=definition.system_integration)
        base_url = base_url or system_url
        if not own:
            engine = system_auth
    if isinstance(stored, DeskConfig):
        engine, base_url = _desk_auth(session, box=box, auth=stored, desk_url=desk_url, loc=loc)
        allow = _desk_networks(desk_url)
    elif engine is None:
        engine = engine_auth(session, box=box, auth=stored, desk_url=desk_url, loc=loc)
    if instance and not own and instance in definition.instance_credentials and isinstance(engine, OAuth2Config):
        given = definition.instance_credentials[instance]
        engine = engine.model_copy(update={"client_id": given.client_id, "client_secret": given.client_secret})
    proxy = None
    if definition.proxy is not None:
        data: dict[str, Any] = definition.proxy.model_dump(exclude={"client_certificate"})
        if definition.proxy.client_certificate is not None:
            data["client_certificate"] = certificates.client_certificate(
                session, box=box, id=definition.proxy.client_certificate, field=("proxy", "client_certificate")
            )
        proxy = ProxyConfig.model_validate(data)
    if not base_url:
        raise ValidationError.single("base_url", msg="base_url is required (unless system_integration or desk sets it)")
    try:
        config = ConnectionConfig(
            base_url=base_url,
            authorization=engine,
            access=definition.access,
            proxy=proxy,
            ca_pem=definition.ca_pem,
            verify_tls=definition.verify_tls,
            timeout=definition.timeout,
        )
    except pydantic.ValidationError as exc:
        raise validation_error(exc) from None
    key = credential_key(integration_id, instance=instance, method_id=method_id if own else None)
    return Target(config=config, credential_key=key, allow=allow)


def check(target: Target) -> None:
    """Build the authorization once (without sending anything) so a bad value is refused when it is saved.

    Raises:
        ValidationError: The engine refused a value (its message names it).
    """
    try:
        build_auth(target.config.authorization, AuthContext(credential_key="check", store=MemoryTokenStore()))
    except ConfigurationError as exc:
        raise ValidationError.single("authorization", msg=str(exc)) from None
    for loc, pem in (
        (("ca_pem",), target.config.ca_pem),
        (("proxy", "ca_pem"), getattr(target.config.proxy, "ca_pem", None)),
    ):
        if pem:
            try:
                ssl_context(ca_pem=pem)
            except ConfigurationError as exc:
                raise ValidationError.single(*loc, msg=str(exc)) from None


def open_client(target: Target, *, db: Database, box: SecretBox) -> httpx.Client:
    """Return the engine's guarded client for ``target``, its tokens kept in the database."""
    guard = OutboundGuard.from_env(target.config.access, extra_allow=target.allow)
    context = AuthContext(credential_key=target.credential_key, store=DbTokenStore(db, box))
    try:
        return build_connection_client(target.config, context=context, guard=guard)
    except ConfigurationError as exc:
        raise ValidationError.single("authorization", msg=str(exc)) from None
