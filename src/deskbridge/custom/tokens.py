"""The tokens of custom integrations, kept in the database (sealed) so that rotated refresh tokens survive restarts.

:class:`DbTokenStore` is the engine's :class:`~deskbridge.http.auth.tokens.TokenStore` on the ``custom_token``
table. A credential key reads ``custom:<integration id>:<instance>`` (``custom:<id>:m<method id>:<instance>`` for a
method with an authorization of its own), so :func:`clear_integration` drops every token of an integration.
:meth:`DbTokenStore.put` commits before it returns: the engine calls it with each new token *before* using it, so
a rotated refresh token is durable before the old one is forgotten. Reads go to the database every time, so
another process's rotation is seen at once.

Token requests are single-flight per credential across processes: :meth:`DbTokenStore.lock` gives a lock that is
first the process's own lock of the key (threads queue there, without touching the database) and then a lease row
in ``custom_token_lock`` (inserted; a second process finds the row and waits). A lease outlives a crashed holder by
at most :data:`LEASE` seconds.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deskbridge.custom.models import CustomToken, CustomTokenLock
from deskbridge.db import Database, utcnow
from deskbridge.http.auth.tokens import KeyLock, MemoryTokenStore, StoredToken
from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox

__all__ = ["LEASE", "DbTokenStore", "clear_integration", "credential_key"]

LEASE = 120.0
"""Seconds a token request may hold a credential's lock (a token request times out well before)."""
_POLL = 0.05

_KEY = re.compile(r"^custom:(\d+):")
_LOCKS = MemoryTokenStore()  # only its per-key locks are used: shared by every DbTokenStore of the process


def credential_key(integration_id: int, *, instance: str | None, method_id: int | None = None) -> str:
    """The credential key of an integration's tokens (and instance; a method with its own authorization)."""
    own = f"m{method_id}:" if method_id is not None else ""
    return f"custom:{integration_id}:{own}{instance or 'default'}"


def _purpose(key: str) -> str:
    return f"custom-token:{key}"


def clear_integration(session: Session, integration_id: int) -> int:
    """Drop every cached token of an integration (all instances and methods); return how many."""
    result = session.execute(delete(CustomToken).where(CustomToken.integration_id == integration_id))
    return int(getattr(result, "rowcount", 0) or 0)


class DbTokenStore:
    """A :class:`~deskbridge.http.auth.tokens.TokenStore` in the ``custom_token`` table (see the module docstring)."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        """Keep tokens in ``db``, sealed with ``box``."""
        self._db = db
        self._box = box

    def get(self, key: str) -> StoredToken | None:
        """Return the token of ``key``, or ``None``."""
        with self._db.session(write=False) as session:
            row = session.get(CustomToken, key)
            sealed = row.sealed if row is not None else None
        if sealed is None:
            return None
        data = json.loads(self._box.open(sealed, purpose=_purpose(key)))
        token = StoredToken(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            obtained_at=float(data.get("obtained_at", 0.0)),
            expires_at=data.get("expires_at"),
        )
        register_secret(token.access_token)  # loaded by a new process: keep it out of its logs too
        register_secret(token.refresh_token)
        return token

    def put(self, key: str, token: StoredToken) -> None:
        """Keep ``token`` for ``key``, committed before this returns."""
        match = _KEY.match(key)
        if match is None:
            raise ValueError(f"not a custom integration credential key: {key!r}")
        payload = {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "obtained_at": token.obtained_at,
            "expires_at": token.expires_at,
        }
        sealed = self._box.seal(json.dumps(payload), purpose=_purpose(key))
        with self._db.session() as session:
            row = session.get(CustomToken, key)
            if row is None:
                session.add(CustomToken(credential_key=key, integration_id=int(match[1]), sealed=sealed))
            else:
                row.sealed = sealed

    def clear(self, key: str) -> None:
        """Forget the token of ``key``."""
        with self._db.session() as session:
            session.execute(delete(CustomToken).where(CustomToken.credential_key == key))

    def lock(self, key: str) -> KeyLock:
        """Return the lock of ``key``: the process's own, then a lease in the database (see the module docstring)."""
        return _DbLock(self._db, key, _LOCKS.lock(key))


class _DbLock:
    """A credential's lock across processes: the process lock of the key, then a lease row."""

    def __init__(self, db: Database, key: str, local: KeyLock) -> None:
        self._db = db
        self._key = key
        self._local = local
        self._holder = uuid.uuid4().hex
        self._last_try = 0.0

    def _try_lease(self) -> bool:
        now = utcnow()
        with self._db.session() as session:
            session.execute(
                delete(CustomTokenLock).where(
                    CustomTokenLock.credential_key == self._key, CustomTokenLock.expires_at < now
                )
            )
            try:
                with session.begin_nested():
                    session.add(
                        CustomTokenLock(
                            credential_key=self._key, holder=self._holder, expires_at=now + timedelta(seconds=LEASE)
                        )
                    )
            except IntegrityError:
                return False
        return True

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; with ``blocking=False`` return at once (the database is asked at most every 50 ms)."""
        deadline = None if timeout < 0 else time.monotonic() + timeout
        if not self._local.acquire(blocking, timeout):
            return False
        try:
            while True:
                if blocking or time.monotonic() - self._last_try >= _POLL:
                    self._last_try = time.monotonic()
                    if self._try_lease():
                        return True
                if not blocking or (deadline is not None and time.monotonic() >= deadline):
                    self._local.release()
                    return False
                time.sleep(_POLL)
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        """Give the lock back: the lease row first, then the process lock."""
        try:
            with self._db.session() as session:
                session.execute(
                    delete(CustomTokenLock).where(
                        CustomTokenLock.credential_key == self._key, CustomTokenLock.holder == self._holder
                    )
                )
        finally:
            self._local.release()
