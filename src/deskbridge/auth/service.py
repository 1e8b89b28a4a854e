"""API applications, client authentication, and the integrator's application."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from deskbridge.auth.models import ApiApplication
from deskbridge.auth.tokens import TokenClaims
from deskbridge.db import utcnow
from deskbridge.desk.people.models import Agent
from deskbridge.exceptions import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "INTEGRATOR_APP_NAME",
    "Principal",
    "authenticate_client",
    "check_usable",
    "create",
    "ensure_integrator",
    "get",
    "get_integrator",
    "principal_for",
    "rotate_secret",
]

INTEGRATOR_APP_NAME = "deskbridge integrator"
_hasher = PasswordHasher()
# Verifying against this when the client id is unknown keeps the answer's timing from telling which ids exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling: the application and the agent it logs in as."""

    application_id: int
    agent_id: int
    is_admin: bool
    is_integrator: bool = False

    def require_admin(self) -> None:
        """Raise :class:`PermissionDeniedError` unless the agent is an admin."""
        if not self.is_admin:
            raise PermissionDeniedError("this needs an admin agent")

    def require_integrator(self) -> None:
        """Raise :class:`PermissionDeniedError` unless this is the integrator's application (with an admin agent)."""
        self.require_admin()
        if not self.is_integrator:
            raise PermissionDeniedError("only the integrator's application may do this (see /api/integrator)")


def _new_secret() -> str:
    return "dbs_" + secrets.token_urlsafe(32)


def get(session: Session, *, id: int) -> ApiApplication:
    """Return application ``id`` or raise :class:`NotFoundError`."""
    app = session.get(ApiApplication, id)
    if app is None:
        raise NotFoundError(f"API application {id} does not exist")
    return app


def _check_agent(session: Session, agent_id: int, *, field: str, admin: bool = False) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise ValidationError.single(field, msg=f"agent {agent_id} does not exist")
    if not agent.active:
        raise ValidationError.single(field, msg=f"agent {agent_id} is not active")
    if admin and not agent.is_admin:
        raise ValidationError.single(field, msg=f"agent {agent_id} is not an admin; the integrator needs admin rights")
    return agent


def create(session: Session, *, name: str, agent_id: int, is_integrator: bool = False) -> tuple[ApiApplication, str]:
    """Create an application and return it with its secret (the only time the secret is seen)."""
    _check_agent(session, agent_id, field="agent_id", admin=is_integrator)
    if session.scalar(select(ApiApplication.id).where(ApiApplication.name == name)) is not None:
        raise ConflictError(f"an API application named {name!r} already exists")
    app = ApiApplication(name=name, client_id=uuid.uuid4().hex, agent_id=agent_id, is_integrator=is_integrator)
    session.add(app)
    secret = rotate_secret(session, app=app)
    return app, secret


def update(
    session: Session, *, app: ApiApplication, name: str | None, agent_id: int | None, active: bool | None
) -> None:
    """Change an application's name, agent or active flag."""
    if agent_id is not None:
        _check_agent(session, agent_id, field="agent_id", admin=app.is_integrator)
        app.agent_id = agent_id
    if name is not None and name != app.name:
        if session.scalar(select(ApiApplication.id).where(ApiApplication.name == name)) is not None:
            raise ConflictError(f"an API application named {name!r} already exists")
        app.name = name
    if active is not None:
        app.active = active
    session.flush()


def rotate_secret(session: Session, *, app: ApiApplication) -> str:
    """Give the application a new secret; the old one, and every token it got, stop working at once."""
    secret = _new_secret()
    app.secret_hash = _hasher.hash(secret)
    app.secret_version = (app.secret_version or 0) + 1
    app.secret_set_at = utcnow()
    session.flush()
    return secret


def authenticate_client(session: Session, *, client_id: str, client_secret: str) -> ApiApplication:
    """Return the active application with these credentials, or raise :class:`AuthenticationError`."""
    app = session.scalar(select(ApiApplication).where(ApiApplication.client_id == client_id))
    stored = app.secret_hash if app is not None and app.secret_hash else _DUMMY_HASH
    ok: bool
    try:
        ok = _hasher.verify(stored, client_secret)
    except (VerificationError, InvalidHashError):
        ok = False
    if app is None or not ok or not app.secret_hash:
        raise AuthenticationError("unknown client or wrong secret")
    check_usable(session, app)
    return app


def check_usable(session: Session, app: ApiApplication) -> None:
    """Raise :class:`AuthenticationError` unless the application and the agent it logs in as are active."""
    if not app.active:
        raise AuthenticationError("this API application is disabled")
    agent = session.get(Agent, app.agent_id)
    if agent is None or not agent.active:
        raise AuthenticationError("the agent this application logs in as is not active")


def principal_for(session: Session, claims: TokenClaims) -> Principal:
    """Return who a verified token speaks for, checking the application and agent are still allowed in."""
    row = session.execute(
        select(
            ApiApplication.secret_version,
            ApiApplication.active,
            Agent.id,
            Agent.active,
            Agent.is_admin,
            ApiApplication.is_integrator,
        )
        .join(Agent, Agent.id == ApiApplication.agent_id)
        .where(ApiApplication.id == claims.application_id)
    ).first()
    if row is None or row[0] != claims.secret_version or not row[1]:
        raise AuthenticationError("the access token has been revoked")
    if not row[3]:
        raise AuthenticationError("the agent this application logs in as is not active")
    return Principal(claims.application_id, row[2], bool(row[4]), bool(row[5]))


def get_integrator(session: Session) -> ApiApplication | None:
    """Return the integrator's application, if it has been set up."""
    return session.scalar(select(ApiApplication).where(ApiApplication.is_integrator.is_(True)))


def ensure_integrator(session: Session, *, agent_id: int) -> ApiApplication:
    """Make the integrator's application log in as ``agent_id``, creating it (without a secret) if needed."""
    _check_agent(session, agent_id, field="login_as_agent_id", admin=True)
    app = get_integrator(session)
    if app is None:
        app = ApiApplication(
            name=INTEGRATOR_APP_NAME, client_id=uuid.uuid4().hex, agent_id=agent_id, is_integrator=True
        )
        session.add(app)
    app.agent_id = agent_id
    session.flush()
    return app


def rotate_integrator_secret(session: Session) -> tuple[ApiApplication, str]:
    """Give the integrator's application a new secret and return it (shown once)."""
    app = get_integrator(session)
    if app is None:
        raise ConflictError("the integrator has no agent to log in as yet; set one with PUT /api/integrator first")
    return app, rotate_secret(session, app=app)
