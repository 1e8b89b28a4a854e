"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, inspect, text
from sqlalchemy.exc import SAWarning

from deskbridge import migrate
from deskbridge.config import Settings
from deskbridge.db import Database
from deskbridge.models import Base
from deskbridge.security.keys import generate_key


def test_migrations_match_models_and_are_idempotent(backend: str, database_url_factory: Any) -> None:
    settings = Settings(database_url=database_url_factory(backend), secret_key=generate_key())  # type: ignore[arg-type]
    db = Database(settings.url)
    assert migrate.current_revision(db) is None
    before, after = migrate.upgrade(db)
    assert before is None and after == migrate.head_revision()
    assert migrate.upgrade(db) == (after, after)
    with db.engine.connect() as conn:
        assert migrate.current_revision(db) == MigrationContext.configure(conn).get_current_revision() == after
        with warnings.catch_warnings():
            # SQLite's reflection skips indexes on expressions; they are checked by name below instead.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        names = set(inspect(conn).get_table_names())
        if db.is_sqlite:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            made = {n for (n,) in conn.execute(text("SELECT name FROM sqlite_master WHERE sql LIKE '%lower(%'"))}
            assert made == _expression_indexes()
            diff = [d for d in diff if not (d[0] == "add_index" and d[1].name in made)]
    db.dispose()
    assert not diff, diff
    assert {"customer", "site", "asset", "ticket", "external_link", "api_application"} <= names


def _expression_indexes() -> set[str]:
    return {
        str(ix.name)
        for table in Base.metadata.tables.values()
        for ix in table.indexes
        if any(not isinstance(e, Column) for e in ix.expressions)
    }


def test_case_folded_lookups_have_expression_indexes() -> None:
    assert {"ix_asset_lower_serial_number", "ix_customer_lower_name", "ix_end_user_lower_email"} <= (
        _expression_indexes()
    )


def test_downgrade_removes_everything(backend: str, database_url_factory: Any) -> None:
    from alembic import command

    db = Database(Settings(database_url=database_url_factory(backend), secret_key=generate_key()).url)  # type: ignore[arg-type]
    migrate.upgrade(db)
    command.downgrade(migrate.alembic_config(db), "base")
    with db.engine.connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    db.dispose()
    assert left == set()


def test_head_revision_agrees_with_alembic() -> None:
    # migrate.head_revision() reads the migration files without Alembic (a cheaper start for the integrator).
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate._HERE))
    assert migrate.head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_reading_the_revision_does_not_import_alembic() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tempfile; from sqlalchemy.engine import make_url; from deskbridge import migrate; "
        "from deskbridge.db import Database; "
        "db = Database(make_url('sqlite:///' + tempfile.mkdtemp() + '/x.db')); "
        "print(migrate.current_revision(db), migrate.head_revision(), 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["None", migrate.head_revision(), "False"]
