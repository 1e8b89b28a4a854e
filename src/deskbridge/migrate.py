"""Schema migrations with Alembic, run from code (no alembic.ini needed).

Alembic is imported only to migrate. Reading which revision a database is at and which one deskbridge ships needs
neither Alembic nor its migration scripts: the revision is one row of ``alembic_version``, and the newest revision
is the one no migration file names as its ``down_revision``. The integrator checks the schema on every run, and
importing Alembic (with the DDL support of every dialect it knows) was about a seventh of its start-up.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import column, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError

from deskbridge.db import Database
from deskbridge.exceptions import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"  # Alembic's default; deskbridge does not change it
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(db: Database) -> Config:
    """An Alembic config pointing at deskbridge's migrations and ``db``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["engine"] = db.engine
    return cfg


def head_revision() -> str:
    """The newest migration deskbridge ships, read from the migration files without importing them.

    Each file in ``migrations/versions`` assigns its ``revision`` and ``down_revision`` as literals (the script
    template writes them so); the head is the one revision no file names as its parent. A test checks that this
    agrees with Alembic's own ``ScriptDirectory.get_current_head()``.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((_HERE / "versions").glob("*.py")):
        found = {m[1]: m[2] for m in _ASSIGNMENT.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue  # __init__.py
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else down or ())
    heads = revisions - parents
    if len(heads) != 1:  # pragma: no cover - a packaging mistake, caught by the tests
        raise RuntimeError(f"the migrations in {_HERE} have {len(heads)} heads ({sorted(heads)}); expected one")
    return heads.pop()


def current_revision(db: Database) -> str | None:
    """The migration the database is at (None for an empty database)."""
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table(_VERSION_TABLE):
                return None
            rows: list[str] = list(conn.scalars(select(column("version_num")).select_from(table(_VERSION_TABLE))))
    except SQLAlchemyError as exc:
        raise ConfigurationError(f"cannot reach the database {db.url.render_as_string()}: {_first_line(exc)}") from None
    if len(rows) > 1:
        raise ConfigurationError(f"the database {db.url.render_as_string()} has several schema heads: {sorted(rows)}")
    return rows[0] if rows else None


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema up to the newest migration; return (revision before, revision after)."""
    before = current_revision(db)
    head = head_revision()
    if before != head:
        from alembic import command

        try:
            command.upgrade(alembic_config(db), "head")
        except SQLAlchemyError as exc:
            raise ConfigurationError(f"the schema upgrade failed: {_first_line(exc)}") from None
    return before, head


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig or exc).strip().splitlines() or ["unknown error"])[0]
