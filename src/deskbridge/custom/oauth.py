"""The authorization code grants: start the flow (the authorize URL) and complete it at the desk's redirect endpoint.

``POST /api/custom-integrations/{id}/authorize`` answers the URL to send the admin's browser to, with a one-time
``state`` (and the PKCE challenge for ``authorization_code_pkce``), kept in the database for ten minutes
(:mod:`deskbridge.custom.oauth_states`), so any worker of the desk, or the desk after a restart, can complete it.
The authorization server sends the browser back to ``GET /api/oauth/callback?code=...&state=...``: the state is
taken (once: a replayed, forged or expired state is refused before any token request), the code exchanged through
the integration's own client (its proxy, TLS and client certificate apply) with the redirect URI of the
authorization request, and the tokens stored in the integration's token store.
"""

from __future__ import annotations

import contextlib

from sqlalchemy.orm import Session

from deskbridge.custom import connect, oauth_states
from deskbridge.custom.integrations import service as integration_service
from deskbridge.custom.methods import service as method_service
from deskbridge.custom.tokens import DbTokenStore
from deskbridge.db import Database
from deskbridge.exceptions import AuthenticationError, ValidationError
from deskbridge.http.auth.config import OAuth2Config
from deskbridge.http.auth.oauth2 import OAuth2Auth
from deskbridge.http.auth.registry import AuthContext, build_auth
from deskbridge.security.secretbox import SecretBox

__all__ = ["complete", "forget", "start"]


def _oauth(target: connect.Target, *, db: Database, box: SecretBox, redirect_uri: str | None = None) -> OAuth2Auth:
    config = target.config.authorization
    if not isinstance(config, OAuth2Config) or config.grant not in ("authorization_code", "authorization_code_pkce"):
        raise ValidationError.single(
            "authorization",
            msg="only oauth2 with the authorization_code or authorization_code_pkce grant is authorized",
        )
    if redirect_uri is not None:
        config = config.model_copy(update={"redirect_uri": redirect_uri})
    auth = build_auth(config, AuthContext(credential_key=target.credential_key, store=DbTokenStore(db, box)))
    assert isinstance(auth, OAuth2Auth)
    return auth


def _target(
    session: Session, *, box: SecretBox, id: int, method_id: int | None, instance: str | None, desk_url: str
) -> connect.Target:
    loaded = integration_service.load(session, box=box, id=id)
    method = method_service.load(session, box=box, integration_id=id, id=method_id) if method_id else None
    return connect.resolve(
        session,
        box=box,
        integration_id=id,
        definition=loaded.definition,
        desk_url=desk_url,
        method_auth=method.authorization if method is not None else None,
        method_id=method_id,
        instance=instance,
    )


def start(
    db: Database, *, box: SecretBox, id: int, method_id: int | None = None, instance: str | None, desk_url: str
) -> str:
    """Return the authorize URL for integration ``id``, its one-time state kept in the database.

    With ``method_id``, the method's own authorization is authorized (a method that inherits authorizes the
    integration's).
    """
    with db.session() as session:
        target = _target(session, box=box, id=id, method_id=method_id, instance=instance, desk_url=desk_url)
    auth = _oauth(target, db=db, box=box)
    request = auth.authorization_request()
    assert auth.redirect_uri is not None
    oauth_states.add(
        db,
        box=box,
        integration_id=id,
        method_id=method_id,
        credential_key=target.credential_key,
        redirect_uri=auth.redirect_uri,
        request=request,
    )
    return request.url


def _instance(credential_key: str) -> str | None:
    instance = credential_key.rsplit(":", 1)[-1]
    return None if instance == "default" else instance


def complete(db: Database, *, box: SecretBox, state: str, code: str, desk_url: str) -> str:
    """Exchange ``code`` for the tokens of the flow ``state`` started; return the integration's name.

    Raises:
        AuthenticationError: ``state`` is unknown, used or expired, or the token endpoint refused the code.
    """
    pending = oauth_states.take(db, box=box, state=state)
    with db.session() as session:
        target = _target(
            session,
            box=box,
            id=pending.integration_id,
            method_id=pending.method_id,
            instance=_instance(pending.credential_key),
            desk_url=desk_url,
        )
        name = integration_service.get(session, id=pending.integration_id).name
    auth = _oauth(target, db=db, box=box, redirect_uri=pending.redirect_uri)
    with connect.open_client(target, db=db, box=box) as client:
        auth.exchange_code(client, pending=pending.request, state=state, code=code)
    return name


def forget(db: Database, *, box: SecretBox, state: str) -> None:
    """Drop the flow of ``state`` (the authorization server answered with an error: the attempt is over)."""
    with contextlib.suppress(AuthenticationError):
        oauth_states.take(db, box=box, state=state)
