"""The authorization code grants: start the flow (the authorize URL) and complete it at the desk's redirect endpoint.

``POST /api/custom-integrations/{id}/authorize`` answers the URL to send the admin's browser to, with a one-time
``state`` (and the PKCE challenge for ``authorization_code_pkce``), remembered in the desk's
:class:`~deskbridge.http.auth.authcode.PendingAuthorizations` for ten minutes. The authorization server sends the
browser back to ``GET /api/oauth/callback?code=...&state=...``: the state is taken (once: a replayed, forged or
expired state is refused before any token request), the code exchanged through the integration's own client (its
proxy, TLS and client certificate apply) and the tokens stored in the integration's token store.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from deskbridge.custom import connect
from deskbridge.custom.integrations import service as integration_service
from deskbridge.custom.tokens import DbTokenStore
from deskbridge.db import Database
from deskbridge.exceptions import ValidationError
from deskbridge.http.auth.authcode import PendingAuthorizations
from deskbridge.http.auth.config import OAuth2Config
from deskbridge.http.auth.oauth2 import OAuth2Auth
from deskbridge.http.auth.registry import AuthContext, build_auth
from deskbridge.security.secretbox import SecretBox

__all__ = ["complete", "start"]

_PENDING_KEY = re.compile(r"^custom:(\d+):(?:m\d+:)?([A-Za-z0-9_-]+)$")


def _oauth(target: connect.Target, *, db: Database, box: SecretBox) -> OAuth2Auth:
    config = target.config.authorization
    if not isinstance(config, OAuth2Config) or config.grant not in ("authorization_code", "authorization_code_pkce"):
        raise ValidationError.single(
            "authorization",
            msg="only oauth2 with the authorization_code or authorization_code_pkce grant is authorized",
        )
    auth = build_auth(config, AuthContext(credential_key=target.credential_key, store=DbTokenStore(db, box)))
    assert isinstance(auth, OAuth2Auth)
    return auth


def _target(session: Session, *, box: SecretBox, id: int, instance: str | None, desk_url: str) -> connect.Target:
    loaded = integration_service.load(session, box=box, id=id)
    return connect.resolve(
        session, box=box, integration_id=id, definition=loaded.definition, desk_url=desk_url, instance=instance
    )


def start(
    db: Database, *, box: SecretBox, pending: PendingAuthorizations, id: int, instance: str | None, desk_url: str
) -> str:
    """Return the authorize URL for integration ``id`` (and instance), remembering its one-time state."""
    with db.session() as session:
        target = _target(session, box=box, id=id, instance=instance, desk_url=desk_url)
    request = _oauth(target, db=db, box=box).authorization_request()
    pending.add(target.credential_key, request)
    return request.url


def complete(
    db: Database, *, box: SecretBox, pending: PendingAuthorizations, state: str, code: str, desk_url: str
) -> str:
    """Exchange ``code`` for the tokens of the flow ``state`` started; return the integration's name.

    Raises:
        AuthenticationError: ``state`` is unknown, used or expired, or the token endpoint refused the code.
    """
    key, request = pending.pop(state)
    match = _PENDING_KEY.match(key)
    assert match is not None, key
    integration_id, instance = int(match[1]), match[2]
    with db.session() as session:
        target = _target(
            session, box=box, id=integration_id, instance=None if instance == "default" else instance, desk_url=desk_url
        )
        name = integration_service.get(session, id=integration_id).name
    auth = _oauth(target, db=db, box=box)
    with connect.open_client(target, db=db, box=box) as client:
        auth.exchange_code(client, pending=request, state=state, code=code)
    return name
