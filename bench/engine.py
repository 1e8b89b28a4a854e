#!/usr/bin/env python
"""Benchmark the outbound engine's overhead per request against a bare ``httpx`` call, on a local endpoint.

Run by hand (it is not part of the test suite)::

    .venv/bin/python bench/engine.py                          # 40 alternating rounds of 100 requests
    .venv/bin/python bench/engine.py --rounds 10              # a quicker run

A tiny ASGI app (a 200 answer with a small JSON body, and a token endpoint) runs under uvicorn in a *separate
process*, so the server does not compete with the client for the GIL. For each method (``none``, ``bearer``,
``oauth2`` with its token cached, ``sign_body_secret``), the same requests are sent with a bare ``httpx.Client``
(keep-alive, no auth, no retries) and with the engine's client (:func:`deskbridge.http.build_connection_client`:
SSRF guard, same-origin redirects, retries, logging transport, the auth flow), alternating rounds so drift hits both
alike (short rounds, many of them: the machine is shared and noisy). The median round of each gives the time per
request; the ratio is engine / bare (target: <= 1.3).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from deskbridge.http import ALLOW_ENV, ConnectionConfig, build_connection_client

SERVER = """
import json, sys
import uvicorn

TOKEN = json.dumps({"access_token": "bench-token", "token_type": "Bearer", "expires_in": 3600}).encode()
OK = b'{"ok":true,"items":[1,2,3]}'

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = TOKEN if scope["path"] == "/token" else OK
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""

BODY = {"ticket": 42, "summary": "printer on fire", "tags": ["hw", "urgent"]}


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    """Run the bench endpoint in a subprocess; yield its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the bench server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def timed(send: Callable[[], httpx.Response], n: int) -> float:
    """Return the mean seconds per request of ``n`` calls of ``send``."""
    start = time.perf_counter()
    for _ in range(n):
        response = send()
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")
    return (time.perf_counter() - start) / n


def run(base: str, requests: int, rounds: int) -> list[tuple[str, float, float]]:
    """Return (method, bare seconds per request, engine seconds per request) for each method."""
    methods: dict[str, tuple[dict[str, Any], str]] = {
        "none": ({"type": "none"}, "GET"),
        "bearer": ({"type": "bearer", "token": "bench-static-token"}, "GET"),
        "oauth2": (
            {"type": "oauth2", "token_url": f"{base}/token", "client_id": "bench", "client_secret": "bench-secret"},
            "GET",
        ),
        "sign_body_secret": (
            {"type": "sign_body_secret", "secret": "bench-hmac-secret", "timestamp_header": "X-Timestamp"},
            "POST",
        ),
    }
    results = []
    for name, (auth, verb) in methods.items():
        config = ConnectionConfig.model_validate({"base_url": base, "authorization": auth})
        with httpx.Client(base_url=base, trust_env=False) as bare, build_connection_client(config) as engine:

            def send_bare(client: httpx.Client = bare, verb: str = verb) -> httpx.Response:
                return client.get("/items") if verb == "GET" else client.post("/items", json=BODY)

            def send_engine(client: httpx.Client = engine, verb: str = verb) -> httpx.Response:
                return client.get("/items") if verb == "GET" else client.post("/items", json=BODY)

            timed(send_bare, 200)  # warm up: connections, the cached token
            timed(send_engine, 200)
            bare_rounds, engine_rounds = [], []
            for _ in range(rounds):
                bare_rounds.append(timed(send_bare, requests))
                engine_rounds.append(timed(send_engine, requests))
        results.append((name, statistics.median(bare_rounds), statistics.median(engine_rounds)))
    return results


def main() -> None:
    """Parse the arguments, run the bench, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per round and variant")
    parser.add_argument("--rounds", type=int, default=40, help="alternating rounds per variant")
    args = parser.parse_args()
    os.environ[ALLOW_ENV] = "127.0.0.1/32"  # the bench endpoint is local; the guard is on, as for every integration
    with server() as base:
        results = run(base, args.requests, args.rounds)
    print(f"{args.requests} requests x {args.rounds} rounds per variant, median round, local endpoint {base}")
    print(f"{'method':<18}{'bare httpx':>14}{'engine':>14}{'overhead':>14}{'ratio':>9}  target <= 1.3x")
    for name, bare, engine in results:
        ratio = engine / bare
        verdict = "ok" if ratio <= 1.3 else "OVER"
        print(
            f"{name:<18}{bare * 1e6:>11.0f} us{engine * 1e6:>11.0f} us{(engine - bare) * 1e6:>11.0f} us"
            f"{ratio:>8.2f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
