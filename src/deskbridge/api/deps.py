"""FastAPI dependencies: the database, the signer, and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from deskbridge.auth import service as auth_service
from deskbridge.auth.service import Principal
from deskbridge.auth.tokens import TokenSigner
from deskbridge.db import Database
from deskbridge.exceptions import AuthenticationError

__all__ = ["DB", "AdminPrincipal", "CurrentPrincipal", "get_db", "get_signer"]


def get_db(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


def get_signer(request: Request) -> TokenSigner:
    """The app's token signer."""
    signer: TokenSigner = request.app.state.signer
    return signer


DB = Annotated[Database, Depends(get_db)]


def current_principal(request: Request, db: DB) -> Principal:
    """Check the bearer token and return who it speaks for."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("this needs an `Authorization: Bearer <token>` header (get one at /auth/token)")
    claims = get_signer(request).verify(token.strip())
    with db.session(write=False) as session:
        return auth_service.principal_for(session, claims)


def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Like :func:`current_principal`, but the agent must be an admin."""
    principal.require_admin()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
