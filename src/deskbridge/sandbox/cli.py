"""``deskbridge sandbox …``: serve the third-party emulators from the command line.

Only Typer is imported here; the emulator (Starlette, uvicorn) loads when a command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(help="Emulators of third-party APIs (for the demo, tests and benchmarks).", no_args_is_help=True)


@app.command()
def syncro(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8811,
    customers: Annotated[int, typer.Option(min=0, help="Customers to generate.")] = 200,
    assets: Annotated[int, typer.Option(min=0, help="Assets to generate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed and sizes, same data.")] = 1,
    alerts: Annotated[
        int | None, typer.Option(min=0, help="RMM alerts to generate (default: one per 20 assets, at most 50).")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="The valid API token (default: the demo key).")] = None,
    subdomain: Annotated[str, typer.Option(help="Tenant name used in links.")] = "demo",
    latency_ms: Annotated[float, typer.Option(min=0, help="Latency added to each API request.")] = 0.0,
    rate_limit: Annotated[str, typer.Option(help="Per-IP limit N/SECONDS, or 'off'.")] = "180/60",
    retry_after_date: Annotated[bool, typer.Option(help="Send Retry-After as an HTTP date, not seconds.")] = False,
    max_per_page: Annotated[int | None, typer.Option(min=1, help="Answer 504 when per_page exceeds this.")] = None,
    fail_page: Annotated[int | None, typer.Option(min=1, help="Listings answer 500 on this page.")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST RMM-alert webhooks here.")] = None,
    cache: Annotated[str, typer.Option(help="Keep generated JSON: raw (fast), zlib (small) or off.")] = "raw",
    warm: Annotated[bool, typer.Option(help="Generate every record before serving.")] = False,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="Any other start-up fault as NAME=VALUE (JSON value), e.g. fail_next=3; repeatable."),
    ] = None,
) -> None:
    """Serve an emulated SyncroMSP API at http://HOST:PORT/api/v1 (control API at /_sandbox)."""
    import json
    from typing import Any, cast

    import uvicorn

    from deskbridge.exceptions import ConfigurationError
    from deskbridge.sandbox.syncro import DEFAULT_API_KEY, CacheMode, SyncroSandbox

    if cache not in ("raw", "zlib", "off"):
        raise ConfigurationError(f"--cache {cache!r}: expected raw, zlib or off")
    faults: dict[str, Any] = {"retry_after_http_date": retry_after_date, "max_per_page": max_per_page}
    faults["fail_page"] = fail_page
    for item in fault or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise ConfigurationError(f"--fault {item!r}: expected NAME=VALUE, e.g. fail_next=3")
        try:
            faults[name.strip()] = json.loads(text)
        except ValueError:
            faults[name.strip()] = text
    sandbox = SyncroSandbox(
        customers=customers,
        assets=assets,
        seed=seed,
        alerts=alerts,
        api_key=api_key or DEFAULT_API_KEY,
        subdomain=subdomain,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        webhook_url=webhook_url,
        cache=cast(CacheMode, cache),
        faults=faults,
        host=host,
        port=port,
    )
    if warm:
        sandbox.warm()
    limit = sandbox.faults.rate_limit
    typer.echo(f"Syncro sandbox: {sandbox.api_url}  (control API: {sandbox.url}/_sandbox)")
    typer.echo(f"  API key: {sandbox.api_key}   customers={customers} assets={assets} seed={seed}")
    typer.echo(f"  rate limit: {limit if limit else 'off'}   latency: {latency_ms:g} ms")
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
