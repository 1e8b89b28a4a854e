"""Schema migrations with Alembic, run from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from deskbridge.db import Database
from deskbridge.exceptions import ConfigurationError

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    """An Alembic config pointing at deskbridge's migrations and ``db``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["engine"] = db.engine
    return cfg


def head_revision() -> str:
    """The newest migration deskbridge ships."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The migration the database is at (None for an empty database)."""
    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise ConfigurationError(f"cannot reach the database {db.url.render_as_string()}: {_first_line(exc)}") from None


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema up to the newest migration; return (revision before, revision after)."""
    before = current_revision(db)
    head = head_revision()
    if before != head:
        try:
            command.upgrade(alembic_config(db), "head")
        except SQLAlchemyError as exc:
            raise ConfigurationError(f"the schema upgrade failed: {_first_line(exc)}") from None
    return before, head


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig or exc).strip().splitlines() or ["unknown error"])[0]
