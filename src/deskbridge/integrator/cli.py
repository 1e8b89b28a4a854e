"""``deskbridge integrator ...``: configure, validate, choose modules, check, run (by hand or ``AUTO``), schedule.

Exit codes: 0 everything processed (or skipped because it was already running), 1 an entity failed, 2 a
configuration error (nothing was run).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deskbridge import __version__
from deskbridge.exceptions import ConfigurationError, DeskbridgeError
from deskbridge.gc_tuning import tune_gc
from deskbridge.integrator import runner, schedule
from deskbridge.integrator.config import IntegratorConfig, load_config, save_config
from deskbridge.port.base import Counts, IntegrationState

__all__ = ["app"]

app = typer.Typer(
    help="The integrator: runs integration syncs against a desk, by hand or on a schedule.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

ConfigPath = Annotated[Path, typer.Argument(help="The config file (appsettings.json).", show_default=False)]


def _setup_logs(config: IntegratorConfig, *, console: Literal["rich", "plain", "none"]) -> None:
    from deskbridge.integrator.logs import configure_logging

    configure_logging(config.logs_path(), console=console, secrets=config.secret_values())
    # Our own `http.request` line (redacted) says what httpx's INFO line says; alembic's chatter says nothing useful.
    for name in ("alembic", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _load(path: Path) -> IntegratorConfig:
    return load_config(path)


# --------------------------------------------------------------------------------------------------- configure


@app.command()
def configure(
    path: ConfigPath,
    url: Annotated[str | None, typer.Option("--url", help="API mode: the desk's URL.")] = None,
    client_id: Annotated[str | None, typer.Option(help="API mode: the integrator's client id.")] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="API mode: its client secret (stored encrypted).", show_default=False)
    ] = None,
    auth_url: Annotated[str | None, typer.Option(help="API mode: token URL (default <url>/auth/token).")] = None,
    tenant: Annotated[str | None, typer.Option(help="API mode: tenant, for hosted desks.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="DB mode: the desk's database URL (stored encrypted).", show_default=False)
    ] = None,
    instance: Annotated[str | None, typer.Option(help="This instance's name.")] = None,
    logs_dir: Annotated[str | None, typer.Option(help="Logs folder (relative: under the working folder).")] = None,
    cron: Annotated[str | None, typer.Option("--schedule", help="Cron expression for `integrator serve`.")] = None,
    module: Annotated[list[str] | None, typer.Option(help="INTEGRATION[:ENTITY] to process; repeat for more.")] = None,
) -> None:
    """Write (or update) a config file. Secrets are stored encrypted."""
    if url and database_url:
        raise ConfigurationError("give either --url (API mode) or --database-url (DB mode), not both")
    data: dict[str, object] = {}
    if path.exists():
        data = _load(path).model_dump(exclude_none=True)
    if url is not None:
        for key in ("database_url",):
            data.pop(key, None)
        data.update(mode="api", desk_url=url.rstrip("/"))
    if database_url is not None:
        for key in ("desk_url", "auth_url", "tenant", "client_id", "client_secret"):
            data.pop(key, None)
        data.update(mode="db", database_url=SecretStr(database_url))
    for key, value in (
        ("client_id", client_id),
        ("auth_url", auth_url),
        ("tenant", tenant),
        ("instance", instance),
        ("logs_dir", logs_dir),
        ("schedule", cron),
    ):
        if value is not None:
            data[key] = value
    if client_secret is not None:
        data["client_secret"] = SecretStr(client_secret)
    try:
        config = IntegratorConfig.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - turned into the one-line configuration error below
        raise ConfigurationError(f"{path}: {_first_error(exc)}") from None
    for spec in module or []:
        integration, _, entity = spec.partition(":")
        config = config.with_module_enabled(integration, entity or None)
    save_config(config, path)
    out.print(f"[green]✓[/green] wrote {escape(str(path))} ({config.connections()[0].mode} mode)")


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"
    return str(exc)


# ---------------------------------------------------------------------------------------------------- validate


@app.command()
def validate(path: ConfigPath) -> None:
    """Connect to the desk: API mode gets a token and calls the API; DB mode checks the schema version."""
    config = _load(path)
    failed = False
    for conn in config.connections():
        try:
            detail = _validate(conn)
        except DeskbridgeError as exc:
            failed = True
            err.print(f"[red]✗[/red] {conn.name} ({conn.mode}): {escape(str(exc))}")
        else:
            out.print(f"[green]✓[/green] {conn.name} ({conn.mode}): {escape(detail)}")
    if failed:
        raise typer.Exit(1)


def _validate(conn: object) -> str:
    from deskbridge.integrator.config import Connection
    from deskbridge.integrator.connect import check_schema, open_database

    assert isinstance(conn, Connection)
    if conn.mode == "db":
        db = open_database(conn)
        try:
            revision = check_schema(db)
        finally:
            db.dispose()
        return f"database reachable, schema {revision} is current"
    from deskbridge.integrator.connect import open_desk

    desk = open_desk(conn)
    try:
        version = desk.version()
        desk.linked_ids("assets", integration="__validate__")  # an authenticated call
    finally:
        desk.close()
    return f"token obtained, desk {version} at {conn.desk_url} answered"


# ----------------------------------------------------------------------------------------------------- modules


@app.command()
def modules(
    path: ConfigPath,
    enable: Annotated[list[str] | None, typer.Option(help="INTEGRATION[:ENTITY] to add to the file.")] = None,
    disable: Annotated[list[str] | None, typer.Option(help="INTEGRATION[:ENTITY] to remove from the file.")] = None,
) -> None:
    """List installed integrations and entities, whether each is enabled in the desk and in the file; edit the file."""
    from deskbridge.integrations import registry

    config = _load(path)
    changed = False
    for spec in enable or []:
        integration, _, entity = spec.partition(":")
        registry.get(integration)  # refuses unknown ones with the installed list
        config = config.with_module_enabled(integration, entity or None)
        changed = True
    for spec in disable or []:
        integration, _, entity = spec.partition(":")
        known = [e.name for e in registry.get(integration).entities] if integration in registry.installed() else None
        config = config.with_module_disabled(integration, entity or None, known_entities=known)
        changed = True
    if changed:
        save_config(config, path)
        out.print(f"[green]✓[/green] saved {escape(str(path))}")
    table = Table("integration", "entity", "in the desk", "in this file")
    desk_state = _desk_states(config)
    in_file = {(m.integration, e) for m in config.modules for e in (m.entities or ["*"])}
    for name, plugin in sorted(registry.installed().items()):
        state = desk_state.get(name)
        for spec_entity in plugin.entities:
            if isinstance(state, str):
                desk_text = f"[yellow]{escape(state)}[/yellow]"
            elif state is None or not state.enabled or not state.integrator_enabled:
                desk_text = "[red]not enabled[/red]"
            elif state.entities and spec_entity.name not in state.entities:
                desk_text = "[red]entity not chosen[/red]"
            else:
                desk_text = "[green]enabled[/green]"
            file_on = (name, spec_entity.name) in in_file or (name, "*") in in_file
            table.add_row(name, spec_entity.name, desk_text, "[green]yes[/green]" if file_on else "no")
    out.print(table)


def _desk_states(config: IntegratorConfig) -> dict[str, IntegrationState | str]:
    from deskbridge.integrations import registry
    from deskbridge.integrator.connect import open_desk

    conn = config.connections()[0]
    try:
        desk = open_desk(conn)
    except DeskbridgeError as exc:
        return dict.fromkeys(registry.installed(), f"desk unreachable: {exc}")
    states: dict[str, IntegrationState | str] = {}
    try:
        for name in registry.installed():
            try:
                states[name] = desk.integration(name, instance=conn.name)
            except DeskbridgeError as exc:
                states[name] = str(exc)
    finally:
        desk.close()
    return states


# ------------------------------------------------------------------------------------------------------- check


@app.command()
def check(
    path: ConfigPath,
    integration: Annotated[str | None, typer.Argument(help="Only this integration.")] = None,
) -> None:
    """Each prerequisite with ✓ or ✗ and, for ✗, the reason; exit 1 if any ✗."""
    from deskbridge.integrations import registry
    from deskbridge.integrations.base import Check, build_context
    from deskbridge.integrator.connect import open_desk

    config = _load(path)
    any_bad = False
    for conn in config.connections():
        desk = open_desk(conn)
        try:
            names = [m.integration for m in config.modules if integration in (None, m.integration)]
            if integration is not None and not names:
                names = [integration]
            for name in names:
                checks: list[Check] = []
                try:
                    plugin = registry.get(name)
                    state = desk.integration(name, instance=conn.name)
                    checks.append(Check("enabled in the desk", state.enabled))
                    checks.append(Check("enabled for the integrator in the desk", state.integrator_enabled))
                    try:
                        ctx = build_context(plugin, state, desk=desk, instance=conn.name)
                    except ConfigurationError as exc:
                        checks.append(Check("settings are valid", False, str(exc)))
                    else:
                        checks.append(Check("settings are valid", True))
                        checks.extend(plugin.checks(ctx=ctx))
                except DeskbridgeError as exc:
                    checks.append(Check("integration is available", False, str(exc)))
                out.print(f"[bold]{escape(name)}[/bold] ({escape(conn.name)})")
                for c in checks:
                    mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
                    any_bad |= not c.ok
                    detail = f" — {escape(c.detail)}" if c.detail else ""
                    out.print(f"  {mark} {escape(c.name)}{detail}")
        finally:
            desk.close()
    if any_bad:
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------------------- run


def _run(
    path: Path,
    *,
    integration: str | None,
    entity: str | None,
    preview: bool,
    headless: bool,
    full_compare: bool = False,
) -> int:
    config = _load(path)
    tune_gc()
    interactive = not headless and sys.stderr.isatty()
    _setup_logs(config, console="none" if interactive else ("plain" if not headless else "none"))
    if interactive:
        results = _run_with_progress(
            config, integration=integration, entity=entity, preview=preview, full_compare=full_compare
        )
    else:
        results = runner.run_config(
            config, integration=integration, entity=entity, preview=preview, full_compare=full_compare
        )
    if not headless:
        _summary(results, preview=preview)
    return 1 if any(r.status == "failed" for r in results) else 0


def run_file(path: Path) -> int:
    """Run a config file as ``run`` does (progress, summary); return the exit code. Used by ``deskbridge demo``."""
    return _run(path, integration=None, entity=None, preview=False, headless=False)


def _run_with_progress(
    config: IntegratorConfig, *, integration: str | None, entity: str | None, preview: bool, full_compare: bool
) -> list[runner.EntityResult]:
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[tuple[str, str], TaskID] = {}

        def on_progress(job: runner.Job, c: Counts) -> None:
            key = (job.integration, job.entity)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{job.integration} {job.entity}", total=None, counts="")
            text = (
                f"created {c.created}  updated {c.updated}  unchanged {c.unchanged}  "
                f"deactivated {c.deactivated}  failed {c.failed}"
            )
            progress.update(tasks[key], counts=text)

        return runner.run_config(
            config,
            integration=integration,
            entity=entity,
            preview=preview,
            progress=on_progress,
            full_compare=full_compare,
        )


def _summary(results: list[runner.EntityResult], *, preview: bool) -> None:
    colours = {"succeeded": "green", "failed": "red", "skipped": "yellow"}
    if out.is_terminal:
        table = Table(
            "instance",
            "integration",
            "entity",
            "status",
            "created",
            "updated",
            "unchanged",
            "deactivated",
            "failed",
            "run",
            title="preview (nothing written)" if preview else None,
        )
        for r in results:
            c = r.counts
            counts = (c.created, c.updated, c.unchanged, c.deactivated, c.failed)
            status = f"[{colours[r.status]}]{r.status}[/]"
            table.add_row(r.instance, r.integration, r.entity, status, *map(str, counts), str(r.run_id or "-"))
        out.print(table)
    else:
        for r in results:
            c = r.counts
            out.print(
                f"{r.instance} {r.integration} {r.entity}: {r.status}{' (preview)' if preview else ''}, "
                f"created {c.created}, updated {c.updated}, unchanged {c.unchanged}, deactivated {c.deactivated}, "
                f"failed {c.failed}, run {r.run_id or '-'}",
                markup=False,
            )
    for r in results:
        if r.error:
            style = "red" if r.status == "failed" else "yellow"
            out.print(f"[{style}]{r.integration} {r.entity}:[/] {escape(r.error)}")
    if preview:
        for r in results:
            shown = r.preview[:50]
            for p in shown:
                diff = ", ".join(f"{k}: {v[0]!r} → {v[1]!r}" for k, v in p.diff.items())
                out.print(f"  {p.action:<10} {p.label} {p.reason or diff}", markup=False)
            if len(r.preview) > len(shown):
                out.print(f"  … and {len(r.preview) - len(shown)} more")
    if not results:
        out.print("[yellow]nothing to process: no module of the file is enabled in the desk[/yellow]")


@app.command()
def run(
    path: ConfigPath,
    integration: Annotated[str | None, typer.Option(help="Only this integration.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity (with --integration).")] = None,
    preview: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Compare every record with the desk, also those unchanged at the source since their last sync.",
        ),
    ] = False,
) -> None:
    """Process what is enabled both in the desk and in the config file."""
    if entity and not integration:
        raise ConfigurationError("--entity needs --integration")
    raise typer.Exit(
        _run(path, integration=integration, entity=entity, preview=preview, headless=False, full_compare=full)
    )


@app.command("AUTO")
def auto(path: ConfigPath) -> None:
    """Headless run for schedulers: no prompts, no progress bars; the exit code says how it went."""
    raise typer.Exit(_run(path, integration=None, entity=None, preview=False, headless=True))


# ------------------------------------------------------------------------------------------------------- about


@app.command()
def about(
    path: Annotated[Path | None, typer.Argument(help="A config file, to ask its desk's version.")] = None,
) -> None:
    """The integrator's version, the desk's when reachable, and a warning when they differ."""
    out.print(f"integrator {__version__}")
    if path is None:
        return
    from deskbridge.integrator.connect import open_desk

    config = _load(path)
    for conn in config.connections():
        try:
            desk = open_desk(conn)
            try:
                version = desk.version()
            finally:
                desk.close()
        except DeskbridgeError as exc:
            err.print(f"[yellow]desk {escape(conn.name)}: not reachable ({escape(str(exc))})[/yellow]")
            continue
        out.print(f"desk {conn.name}: {version}")
        if version != __version__:
            err.print(
                f"[yellow]warning: the desk runs {version} and this integrator {__version__}; "
                "use the same version on both[/yellow]"
            )


# ---------------------------------------------------------------------------------------------------- schedule


@app.command("schedule")
def schedule_cmd(
    path: ConfigPath,
    every: Annotated[str | None, typer.Option(help="Interval: 5m, 1h, 1d …")] = None,
    cron: Annotated[str | None, typer.Option(help="A cron expression.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="cron, systemd or windows.")] = "cron",
    name: Annotated[
        str | None, typer.Option(help="Name of the entry (default: from the config file's folder and name).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the file(s) into this folder instead of printing them.")
    ] = None,
) -> None:
    """Print a ready cron line, a systemd service + timer, or a Windows Task Scheduler XML."""
    if (every is None) == (cron is None):
        raise ConfigurationError("give exactly one of --every and --cron")
    if fmt not in ("cron", "systemd", "windows"):
        raise ConfigurationError(f"--format: unknown format {fmt!r}; expected cron, systemd or windows")
    config = _load(path)
    expr = schedule.parse_every(every) if every is not None else schedule.validate_cron(cron or "")
    exe = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name.startswith("deskbridge") else None
    command = [str(exe)] if exe else [sys.executable, "-m", "deskbridge"]
    rendered = schedule.render(
        fmt,  # type: ignore[arg-type]
        config_path=path.resolve(),
        cron=expr,
        command=command,
        workdir=Path.cwd(),
        name=name or _entry_name(path),
        logs_dir=config.logs_path(),
    )
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        for written in schedule.write_rendered(rendered, output):
            out.print(f"[green]✓[/green] wrote {escape(str(written))}")
        return
    for file_name, text in rendered.items():
        if len(rendered) > 1 or fmt != "cron":
            out.print(f"# ---- {file_name}", markup=False)
        out.print(text, markup=False)


def _entry_name(path: Path) -> str:
    # Several config files are usually all called appsettings.json: name the entry after the folder too.
    resolved = path.resolve()
    raw = f"{resolved.parent.name}-{resolved.stem}" if resolved.parent.name else resolved.stem
    cleaned = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in raw).strip("-.") or "integrator"
    return cleaned[:64]


# ------------------------------------------------------------------------------------------------------- serve


@app.command()
def serve(paths: Annotated[list[Path], typer.Argument(help="Config files, each with a `schedule`.")]) -> None:
    """The embedded scheduler: run each config file on its schedule until stopped (Ctrl+C)."""
    from deskbridge.integrator.scheduler import Scheduler

    configs = []
    for p in paths:
        config = _load(p)
        if not config.schedule:
            raise ConfigurationError(f"{p}: schedule: missing; `serve` runs each file on its cron schedule")
        configs.append((p, config))
    _setup_logs(configs[0][1], console="plain")
    scheduler = Scheduler(configs)
    out.print(f"[green]serving[/green] {len(configs)} schedule(s); Ctrl+C stops")
    try:
        scheduler.run_forever()
    except KeyboardInterrupt:
        scheduler.stop()
        out.print("stopped")
