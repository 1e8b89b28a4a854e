"""Measure a bare fetch of every asset page from the Syncro sandbox (the floor an importer is measured against).

    python -m tests.sandbox.serve_all_pages --customers 10000 --assets 100000 [--cache raw|zlib] [--process]

``--process`` serves from ``deskbridge sandbox syncro`` in a child process (no GIL shared with the client);
otherwise the sandbox runs in a thread of this process, as tests and benchmarks use it. Prints start-up time, a
cold then warm fetch through httpx, warm fetches through http.client (little client cost), and the server's RSS.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deskbridge.sandbox import DEFAULT_API_KEY, SyncroSandbox

AUTH = {"Authorization": DEFAULT_API_KEY}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fetch_lean(url: str, per_page: int, pages: int) -> tuple[float, int]:
    """Fetch with http.client: the sandbox's own cost, with little of the client's."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    started = time.perf_counter()
    size = 0
    for page in range(1, pages + 1):
        conn.request("GET", f"/api/v1/customer_assets?page={page}&per_page={per_page}", headers=AUTH)
        size += len(conn.getresponse().read())
    conn.close()
    return time.perf_counter() - started, size


def fetch_all(api_url: str, per_page: int, parse: bool) -> tuple[float, int, int]:
    """Fetch with httpx, as deskbridge's clients do, until ``meta.total_pages``."""
    import orjson

    started = time.perf_counter()
    records = size = 0
    with httpx.Client(base_url=api_url, headers=AUTH, timeout=60) as client:
        page = 1
        while True:
            r = client.get("/customer_assets", params={"page": page, "per_page": per_page})
            r.raise_for_status()
            size += len(r.content)
            if parse:
                body = orjson.loads(r.content)
                records += len(body["assets"])
                if page >= body["meta"]["total_pages"]:
                    break
            else:
                total_pages = int(r.content.rsplit(b'"total_pages":', 1)[1].split(b",", 1)[0])
                records += per_page
                if page >= total_pages:
                    break
            page += 1
    return time.perf_counter() - started, records, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--cache", default="raw")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--process", action="store_true")
    parser.add_argument("--parse", action="store_true", help="also decode each page with orjson")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.process:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "deskbridge", "sandbox", "syncro", "--port", str(port), "--rate-limit", "off"]
        cmd += ["--customers", str(args.customers), "--assets", str(args.assets), "--cache", args.cache]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(url + "/_sandbox/stats")
                break
            except httpx.TransportError:
                if child.poll() is not None:
                    raise SystemExit("the sandbox process exited") from None
                time.sleep(0.02)
        pid, sandbox = child.pid, None
    else:
        sandbox = SyncroSandbox(customers=args.customers, assets=args.assets, cache=args.cache).start()
        url, pid = sandbox.url, os.getpid()
    print(f"start-up: {time.perf_counter() - started:.2f} s, RSS {rss_mb(pid):.0f} MB")
    try:
        for label in ("cold", "warm", "warm"):
            seconds, records, size = fetch_all(url + "/api/v1", args.per_page, args.parse)
            print(
                f"{label} (httpx): {seconds:.2f} s for {records} assets ({size / 1e6:.0f} MB), RSS {rss_mb(pid):.0f} MB"
            )
        pages = -(-args.assets // args.per_page)
        for _ in range(2):
            seconds, size = fetch_lean(url, args.per_page, pages)
            print(f"warm (http.client): {seconds:.2f} s for {pages} pages ({size / 1e6:.0f} MB)")
    finally:
        if sandbox is not None:
            sandbox.stop()
        else:
            child.terminate()
            child.wait()


if __name__ == "__main__":
    main()
