"""Opening a connection to the desk from the integrator, and validating it.

API mode builds an :class:`~deskbridge.port.api.ApiDesk`; DB mode opens the desk's database and builds a
:class:`~deskbridge.port.db.DbDesk`, which never sends a request to the desk's API. DB mode reads the integrations'
stored secrets, so it needs the desk's own secret key: ``DESKBRIDGE_SECRET_KEY``, or the desk's key file in
``DESKBRIDGE_DATA_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskbridge.exceptions import ConfigurationError
from deskbridge.integrator.config import Connection
from deskbridge.port.base import Desk
from deskbridge.security.keys import KEY_FILE_NAME, parse_key
from deskbridge.security.redact import register_secret
from deskbridge.security.secretbox import SecretBox

if TYPE_CHECKING:
    from deskbridge.db import Database

__all__ = ["check_schema", "desk_secret_box", "open_database", "open_desk"]


def open_desk(conn: Connection, **_: Any) -> Desk:
    """The Desk port for ``conn``."""
    if conn.mode == "api":
        from deskbridge.port.api import ApiDesk

        assert conn.desk_url and conn.client_id and conn.client_secret is not None
        return ApiDesk(
            conn.desk_url,
            client_id=conn.client_id,
            client_secret=conn.client_secret,
            auth_url=conn.auth_url,
            tenant=conn.tenant,
            on_secret=register_secret,
        )
    from deskbridge.port.db import DbDesk

    db = open_database(conn)
    check_schema(db)
    try:
        box: SecretBox = desk_secret_box()
    except ConfigurationError as exc:
        # Integrations without secrets run without the key; only reading a stored secret needs it.
        box = _NoKeyBox(exc)
    return DbDesk(db, box=box, writer_process=True)


class _NoKeyBox(SecretBox):
    """Stands in for the desk's secret box when its key is not available; fails only when a secret is needed."""

    def __init__(self, error: ConfigurationError) -> None:
        super().__init__(bytes(32))
        self._error = error

    def open(self, sealed: str, *, purpose: str) -> str:
        """Refuse: the key is missing."""
        raise self._error

    def seal(self, plaintext: str, *, purpose: str) -> str:
        """Refuse: the key is missing."""
        raise self._error


def open_database(conn: Connection) -> Database:
    """Open (lazily) the desk database of a DB-mode connection."""
    # SQLAlchemy and the schema are imported here, not at the top: API mode never needs them (150 ms a start).
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from deskbridge.db import Database

    assert conn.database_url is not None
    raw = conn.database_url.get_secret_value()
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError("database_url: not a database URL (e.g. postgresql://user:pass@host/desk)") from None
    if url.password:
        register_secret(str(url.password))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return Database(url)


def check_schema(db: Database) -> str:
    """Return the schema revision; :class:`ConfigurationError` unless it is the one this integrator expects."""
    from deskbridge.migrate import current_revision, head_revision

    current = current_revision(db)
    head = head_revision()
    if current is None:
        raise ConfigurationError(f"{_where(db)} has no deskbridge schema; run `deskbridge db upgrade` against it first")
    if current != head:
        raise ConfigurationError(
            f"{_where(db)} is at schema {current} but this integrator needs {head}: "
            "upgrade the desk and the integrator to the same version (`deskbridge db upgrade`)"
        )
    return current


def _where(db: Database) -> str:
    return f"the database {db.url.render_as_string(hide_password=True)}"


def desk_secret_box() -> SecretBox:
    """The desk's secret box: ``DESKBRIDGE_SECRET_KEY``, else the desk's key file in ``DESKBRIDGE_DATA_DIR``."""
    text = os.environ.get("DESKBRIDGE_SECRET_KEY")
    source = "DESKBRIDGE_SECRET_KEY"
    if not text:
        path = Path(os.environ.get("DESKBRIDGE_DATA_DIR") or ".") / KEY_FILE_NAME
        source = str(path)
        try:
            text = path.read_text()
        except OSError:
            raise ConfigurationError(
                "DB mode needs the desk's secret key to read integration settings: set DESKBRIDGE_SECRET_KEY to the "
                f"desk's key, or DESKBRIDGE_DATA_DIR to the folder of its {KEY_FILE_NAME}"
            ) from None
    try:
        return SecretBox(parse_key(text))
    except ValueError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
