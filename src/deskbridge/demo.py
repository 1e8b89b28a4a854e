"""``deskbridge demo``: the SyncroMSP sandbox, a desk on SQLite and the integrator, end to end, in one folder.

It starts the sandbox (a faithful SyncroMSP emulator with generated customers and assets) and a desk on SQLite in a
folder of its own, configures the SyncroMSP integration through the desk's REST API as an admin would (settings,
a customer mapping, asset field mappings, the connection test), writes an integrator config file (API mode), runs
the integrator with its progress display, prints a summary, and leaves the desk serving until Ctrl-C.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from deskbridge.exceptions import ConfigurationError

__all__ = ["DemoOptions", "run_demo"]

MARKER = ".deskbridge-demo"


@dataclass(slots=True, frozen=True)
class DemoOptions:
    """What ``deskbridge demo`` was asked for."""

    folder: Path
    port: int = 8000
    sandbox_port: int = 8811
    customers: int = 60
    assets: int = 600
    seed: int = 1
    serve: bool = True


def _prepare(folder: Path) -> None:
    """Make the folder, or empty a folder an earlier demo made; refuse any other non-empty folder."""
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        raise ConfigurationError(f"{folder} is not empty and was not made by `deskbridge demo`; choose --folder")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `deskbridge demo`; deleted by the next demo\n")


def _desk(folder: Path) -> tuple[Any, Any, tuple[str, str], tuple[str, str]]:
    """A desk database in ``folder``: schema, an admin application and the integrator's; their credentials."""
    from deskbridge import migrate
    from deskbridge.auth import service as auth_service
    from deskbridge.config import Settings
    from deskbridge.db import Database
    from deskbridge.desk.people.models import Agent
    from deskbridge.security.keys import generate_key

    key = generate_key()
    (folder / "desk.key").write_text(key + "\n")
    (folder / "desk.key").chmod(0o600)
    settings = Settings(database_url=f"sqlite:///{folder / 'desk.db'}", secret_key=key)
    db = Database(settings.url)
    migrate.upgrade(db)
    with db.session() as session:
        admin = Agent(name="Demo admin", is_admin=True, is_api_only=True)
        robot = Agent(name="Integrator", is_admin=True, is_api_only=True)
        session.add_all([admin, robot])
        session.flush()
        app_row, admin_secret = auth_service.create(session, name="demo-admin", agent_id=admin.id)
        admin_creds = (app_row.client_id, admin_secret)
        auth_service.ensure_integrator(session, agent_id=robot.id)
        integrator, secret = auth_service.rotate_integrator_secret(session)
        integrator_creds = (integrator.client_id, secret)
    return settings, db, admin_creds, integrator_creds


def _admin_client(base: str, creds: tuple[str, str]) -> httpx.Client:
    """A client of the demo desk's REST API, through ``http/`` with OAuth2 client credentials (as any client)."""
    from deskbridge.http import ClientCredentialsAuth, build_client

    auth = ClientCredentialsAuth(token_url=f"{base}/auth/token", client_id=creds[0], client_secret=creds[1])
    return build_client(base_url=base, auth=auth, timeout=60.0)


def _ok(r: httpx.Response) -> Any:
    if r.is_error:
        raise ConfigurationError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return r.json() if r.content else None


def _configure(api: httpx.Client, sandbox_url: str, api_key: str, first_customer: dict[str, Any]) -> None:
    """Set the integration up as an admin would: records it needs, settings, one mapping, field mappings."""
    top = _ok(api.post("/api/top-levels", json={"name": "SyncroMSP"}))
    group = _ok(api.post("/api/asset-groups", json={"name": "SyncroMSP devices"}))
    for name, kind in (("Operating system", "text"), ("RAM (GB)", "text"), ("Manufacturer", "text")):
        _ok(api.post("/api/asset-fields", json={"name": name, "kind": kind}))
    _ok(api.post("/api/custom-fields", json={"name": "Monitored", "kind": "checkbox"}))
    # An existing desk customer with two sites, mapped onto the first Syncro customer's HQ site.
    mapped = _ok(api.post("/api/customers", json={"name": "Northwind (existing)", "default_site_name": "Head office"}))
    hq = _ok(api.post("/api/sites", json={"customer_id": mapped["id"], "name": "HQ (from mapping)"}))
    _ok(
        api.put(
            "/api/integrations/syncro",
            json={
                "enabled": True,
                "integrator_enabled": True,
                "entities": ["customers", "assets"],
                "settings": {
                    "url": sandbox_url,
                    "api_key": api_key,
                    "top_level_id": top["id"],
                    "default_asset_group_id": group["id"],
                    "default_site_id": mapped["default_site_id"],
                    "asset_matching_field": "serial_number",
                    "deactivate_deleted_assets": True,
                },
            },
        )
    )
    _ok(
        api.post(
            "/api/integrations/syncro/customer-mappings",
            json={"syncro_customer_id": first_customer["id"], "customer_id": mapped["id"], "site_id": hq["id"]},
        )
    )
    _ok(
        api.post(
            "/api/integrations/syncro/field-mappings",
            json=[
                {
                    "target_kind": "asset_field",
                    "target": "Operating system",
                    "source_kind": "core",
                    "source": "properties.kabuto_information.os.name",
                },
                {
                    "target_kind": "asset_field",
                    "target": "RAM (GB)",
                    "source_kind": "core",
                    "source": "properties.kabuto_information.ram_gb",
                },
                {
                    "target_kind": "asset_field",
                    "target": "Manufacturer",
                    "source_kind": "core",
                    "source": "properties.manufacturer",
                    "only_when_empty": True,
                },
                {
                    "target_kind": "custom_field",
                    "target": "Monitored",
                    "source_kind": "core",
                    "source": "properties.monitoring",
                    "source_type": "checkbox",
                },
            ],
        )
    )


def _pages(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = _ok(api.get(path, params={"page": page, "page_size": 1000}))
        items.extend(body["items"])
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


def _summary(console: Console, api: httpx.Client) -> None:
    customers = _pages(api, "/api/customers")
    sites = {s["id"]: s for s in _pages(api, "/api/sites")}
    names = {c["id"]: c["name"] for c in customers}
    types = {t["id"]: t["name"] for t in _pages(api, "/api/asset-types")}
    assets = _pages(api, "/api/assets")
    console.print(
        f"\n[bold]The desk now holds[/bold] {len(customers)} customers, {len(sites)} sites and {len(assets)} assets."
    )
    by_type = Counter(types.get(a["asset_type_id"], "?") for a in assets)
    table = Table("asset type", "assets", title="Assets per type")
    for name, count in by_type.most_common():
        table.add_row(name, str(count))
    console.print(table)
    by_site = Counter(a["site_id"] for a in assets)
    table = Table("customer", "site", "assets", title="Assets per site (top 10)")
    for site_id, count in by_site.most_common(10):
        site = sites.get(site_id, {})
        table.add_row(names.get(site.get("customer_id"), "?"), site.get("name", "?"), str(count))
    console.print(table)


def run_demo(options: DemoOptions, console: Console) -> None:
    """Run the whole demo (see the module's docstring)."""
    from deskbridge.app import create_app
    from deskbridge.sandbox.runner import BackgroundServer
    from deskbridge.sandbox.syncro import SyncroSandbox

    folder = options.folder.resolve()
    _prepare(folder)
    console.print(f"[bold]deskbridge demo[/bold] in {folder}")
    settings, db, admin_creds, integrator_creds = _desk(folder)
    sandbox = SyncroSandbox(
        customers=options.customers,
        assets=options.assets,
        seed=options.seed,
        rate_limit="180/60",  # as the real SyncroMSP; the client's budget keeps under it
        port=options.sandbox_port,
    )
    try:
        desk_server = BackgroundServer(create_app(settings, database=db), port=options.port)
    except OSError as exc:
        raise ConfigurationError(f"the desk cannot listen on 127.0.0.1:{options.port}: {exc}; choose --port") from None
    desk_server.start()
    try:
        with sandbox:
            _demo(options, console, folder, sandbox, integrator_creds, admin_creds)
    finally:
        desk_server.stop()


def _demo(
    options: DemoOptions,
    console: Console,
    folder: Path,
    sandbox: Any,
    integrator_creds: tuple[str, str],
    admin_creds: tuple[str, str],
) -> None:
    from deskbridge.integrator.cli import run_file
    from deskbridge.integrator.config import IntegratorConfig, save_config

    sandbox_url = sandbox.url
    base = f"http://127.0.0.1:{options.port}"
    console.print(f"  SyncroMSP sandbox  {sandbox_url}  ({options.customers} customers, {options.assets} assets)")
    console.print(f"  desk               {base}  (SQLite: {folder / 'desk.db'})")
    with _admin_client(base, admin_creds) as api:
        first = sandbox.store.customer(sandbox.store.customer_ids()[0])
        _configure(api, sandbox_url, sandbox.api_key, first)
        test = _ok(api.post("/api/integrations/syncro/test"))
        console.print(f"  connection test    {'[green]ok[/green]' if test['ok'] else test['detail']}")
        config = IntegratorConfig.model_validate(
            {
                "mode": "api",
                "desk_url": base,
                "client_id": integrator_creds[0],
                "client_secret": integrator_creds[1],
                "modules": [{"integration": "syncro", "entities": ["customers", "assets"]}],
                "logs_dir": str(folder / "logs"),
                "schedule": "0 2 * * *",
            }
        )
        path = folder / "appsettings.json"
        save_config(config, path)
        console.print(f"  integrator config  {path}\n")
        code = run_file(path)
        _summary(console, api)
    if code:
        console.print("[red]the integrator reported a failure; see the logs folder[/red]")
    console.print(
        f"\nRun it again with [bold]deskbridge integrator run {path}[/bold] (nothing changes, nothing is written)."
    )
    if not options.serve:
        return
    console.print(f"The desk is serving at [bold]{base}[/bold] (API docs at {base}/docs). Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopped")
