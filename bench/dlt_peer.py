#!/usr/bin/env python
r"""The peer of ``bench/syncro_import.py``: dlt's ``rest_api`` source loading SyncroMSP customers and assets.

It runs in a venv of its own (``bench/.venv-dlt``, made by ``syncro_import.py``; dlt is not a deskbridge
dependency), so it imports nothing from deskbridge. Run by hand against a sandbox (``deskbridge sandbox syncro``)::

    deskbridge sandbox syncro --rate-limit off --customers 1000 --assets 10000 &
    bench/.venv-dlt/bin/python bench/dlt_peer.py --api-url http://127.0.0.1:8811/api/v1 --workdir /tmp/dlt-peer \
        --api-key T0123456789abcdef-0123456789abcdef

The source pages with dlt's ``page_number`` paginator (``per_page=100``, stopping at ``meta.total_pages``) and a
bearer token; the destination is dlt's ``sqlalchemy`` destination on a SQLite file (the one dlt documents for
SQLite), written with ``merge`` on ``id`` (an idempotent upsert, as a desk import is) unless told otherwise, with
one load worker (SQLite has one writer; dlt's default of 20 parallel jobs fails with "database is locked"). dlt's
defaults are kept otherwise: nested objects become columns and nested lists child tables.

It prints one JSON object on its last line: the seconds of the whole load and of each step (extract, normalize,
load), the rows in the two tables, the tables made, and dlt's version.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def source_config(api_url: str, api_key: str, *, per_page: int, write_disposition: str) -> dict[str, Any]:
    """The ``rest_api`` config: customers (disabled ones too) and assets, page by page."""
    return {
        "client": {
            "base_url": api_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": api_key},
            "paginator": {
                "type": "page_number",
                "base_page": 1,
                "page_param": "page",
                "total_path": "meta.total_pages",
            },
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": write_disposition,
            "endpoint": {"params": {"per_page": per_page}},
        },
        "resources": [
            {
                "name": "customers",
                "endpoint": {
                    "path": "customers",
                    "data_selector": "customers",
                    "params": {"per_page": per_page, "include_disabled": "true"},
                },
            },
            {"name": "assets", "endpoint": {"path": "customer_assets", "data_selector": "assets"}},
        ],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load both resources once; return the figures."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # SQLite takes one writer at a time: dlt's default of 20 parallel load jobs fails with "database is locked" on
    # 100,000 assets, so the loader gets one worker (LOAD__WORKERS is dlt's own setting).
    os.environ.setdefault("LOAD__WORKERS", "1")
    import dlt
    from dlt.sources.rest_api import rest_api_source

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "dlt.db"
    config = source_config(args.api_url, args.api_key, per_page=args.per_page, write_disposition=args.write_disposition)
    pipeline = dlt.pipeline(
        pipeline_name="syncro_peer",
        destination=dlt.destinations.sqlalchemy(f"sqlite:///{database}"),
        dataset_name="syncro",
        pipelines_dir=str(workdir / "pipelines"),
    )
    started = time.perf_counter()
    pipeline.extract(rest_api_source(config))  # type: ignore[arg-type]
    extracted = time.perf_counter()
    pipeline.normalize()
    normalized = time.perf_counter()
    info = pipeline.load()
    loaded = time.perf_counter()
    if info.has_failed_jobs:
        raise RuntimeError(f"dlt reported failed load jobs: {info}")
    with pipeline.sql_client() as client:
        counts = {
            table: int(client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")[0][0])
            for table in ("customers", "assets")
        }
    tables = sorted(pipeline.default_schema.data_table_names())
    return {
        "seconds": loaded - started,
        "extract_seconds": extracted - started,
        "normalize_seconds": normalized - extracted,
        "load_seconds": loaded - normalized,
        "customers": counts["customers"],
        "assets": counts["assets"],
        "tables": tables,
        "write_disposition": args.write_disposition,
        "dlt_version": dlt.__version__,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--api-url", required=True, help="the sandbox's API root, http://HOST:PORT/api/v1")
    parser.add_argument("--api-key", required=True, help="its API token")
    parser.add_argument("--workdir", required=True, help="folder for the SQLite file and dlt's pipeline state")
    parser.add_argument("--per-page", type=int, default=100, help="records per page (default 100)")
    parser.add_argument(
        "--write-disposition",
        choices=("merge", "append", "replace"),
        default="merge",
        help="dlt's write disposition (default merge on id, an idempotent upsert)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load and print its figures as JSON on the last line."""
    args = parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
