"""The ``deskbridge`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from deskbridge import API_VERSION, __version__
from deskbridge.exceptions import ConfigurationError, DeskbridgeError
from deskbridge.gc_tuning import tune_gc

if TYPE_CHECKING:
    from deskbridge.config import Settings
    from deskbridge.db import Database

__all__ = ["app", "main"]

app = typer.Typer(
    name="deskbridge",
    help="deskbridge: an open, self-hostable integration hub for IT service desks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _integrator_app() -> typer.Typer:
    from deskbridge.integrator.cli import app as integrator_app

    return integrator_app


app.add_typer(_integrator_app(), name="integrator")


def _sandbox_app() -> typer.Typer:
    from deskbridge.sandbox.cli import app as sandbox_app  # Typer only; the emulators load when a command runs

    return sandbox_app


app.add_typer(_sandbox_app(), name="sandbox")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    # pydantic-settings is imported only by the desk's own commands, not by `deskbridge integrator ...`.
    from deskbridge.config import load_settings

    return load_settings()


def _database(settings: Settings) -> Database:
    # SQLAlchemy (some 150 ms to import) is loaded only by the commands that open the database: an API-mode
    # `deskbridge integrator` never does.
    from deskbridge.db import Database

    return Database(settings.url)


def _upgrade(db: Database) -> None:
    from deskbridge import migrate

    before, after = migrate.upgrade(db)
    if before != after:
        out.print(f"[green]schema upgraded[/green] {before or '(empty)'} → {after}")


@app.command()
def version() -> None:
    """Print the version of deskbridge and of its API."""
    out.print(f"deskbridge {__version__} (api {API_VERSION})")


@app.command()
def keygen() -> None:
    """Print a new key for DESKBRIDGE_SECRET_KEY."""
    from deskbridge.security.keys import generate_key

    print(generate_key())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest version."""
    from deskbridge import migrate

    db = _database(_settings())
    before, after = migrate.upgrade(db)
    if before == after:
        out.print(f"[green]schema is current[/green] ({after})")
    else:
        out.print(f"[green]schema upgraded[/green] {before or '(empty)'} → {after}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Upgrade the schema if needed, then serve the desk's API."""
    import uvicorn

    from deskbridge.app import create_app

    settings = _settings()
    db = _database(settings)
    _upgrade(db)
    application = create_app(settings, database=db)
    tune_gc()
    out.print(f"[green]deskbridge[/green] serving http://{host}:{port} (API docs at /docs)")
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Folder of its own for the demo's desk, config and logs.")] = Path(
        "deskbridge-demo"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the desk.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the SyncroMSP sandbox.")] = 8811,
    customers: Annotated[int, typer.Option(min=1, max=100_000, help="Customers in the sandbox.")] = 60,
    assets: Annotated[int, typer.Option(min=0, max=1_000_000, help="Assets in the sandbox.")] = 600,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox's generated data.")] = 1,
    serve: Annotated[bool, typer.Option(help="Keep the desk serving after the import, until Ctrl-C.")] = True,
) -> None:
    """Try it all: a SyncroMSP sandbox, a desk on SQLite, the integration configured, the integrator run."""
    from deskbridge.demo import DemoOptions, run_demo

    options = DemoOptions(folder, port, sandbox_port, customers, assets, seed, serve)
    run_demo(options, out)


@app.command()
def init(
    agent: Annotated[str, typer.Option(help="Name of the API-only admin agent the integrator logs in as.")],
    url: Annotated[str, typer.Option(help="URL the desk is reached at.")] = "",
) -> None:
    """Create the schema, an API-only admin agent and the integrator's application; print its credentials."""
    from deskbridge.auth import service as auth_service
    from deskbridge.desk.people.models import Agent

    settings = _settings()
    agent = agent.strip()
    if not agent or len(agent) > 255 or "\x00" in agent:
        raise ConfigurationError("--agent: give a name of 1 to 255 characters")
    base = (url or settings.public_url or "http://127.0.0.1:8000").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigurationError(f"--url: {base!r} is not an http(s) URL")
    db = _database(settings)
    _upgrade(db)
    secret: str | None = None
    from sqlalchemy import select

    with db.session() as session:
        row = session.scalar(select(Agent).where(Agent.name == agent))
        if row is None:
            row = Agent(name=agent, is_api_only=True, is_admin=True)
            session.add(row)
            session.flush()
            out.print(f"[green]created[/green] API-only admin agent {agent!r} (id {row.id})")
        elif not (row.is_admin and row.active):
            raise ConfigurationError(f"agent {agent!r} exists but is not an active admin; choose another name")
        app_row = auth_service.get_integrator(session)
        if app_row is None or app_row.agent_id != row.id:
            app_row = auth_service.ensure_integrator(session, agent_id=row.id)
        if app_row.secret_hash is None:
            secret = auth_service.rotate_secret(session, app=app_row)
        client_id = app_row.client_id
    out.print(f"client_id:     {client_id}")
    if secret is not None:
        out.print(f"client_secret: {secret}  [yellow](shown this once; store it now)[/yellow]")
    else:
        out.print("client_secret: (issued before; run `deskbridge integrator-secret` to make a new one)")
    out.print(f"api_url:       {base}/api")
    out.print(f"auth_url:      {base}/auth")
    out.print(f"desk_url:      {base}  (the integrator config's desk_url)")


@app.command("integrator-secret")
def integrator_secret() -> None:
    """Make a new client secret for the integrator (printed once); the old one stops working at once."""
    from deskbridge.auth import service as auth_service
    from deskbridge.exceptions import ConflictError

    settings = _settings()
    db = _database(settings)
    _upgrade(db)
    with db.session() as session:
        try:
            app_row, secret = auth_service.rotate_integrator_secret(session)
        except ConflictError:
            raise ConfigurationError(
                "the integrator is not set up yet; run `deskbridge init --agent NAME` first"
            ) from None
        client_id = app_row.client_id
    out.print(f"client_id:     {client_id}")
    out.print(f"client_secret: {secret}  [yellow](shown this once; store it now)[/yellow]")


def main() -> None:
    """Run the CLI: one red line and a non-zero exit for any deskbridge error (2 for configuration)."""
    try:
        app()
    except ConfigurationError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, markup=True)
        sys.exit(2)
    except DeskbridgeError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, markup=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
