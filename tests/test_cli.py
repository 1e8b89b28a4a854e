"""The `deskbridge` command through its real entry point (a subprocess)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

EXE = Path(sys.executable).parent / "deskbridge"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"
    return subprocess.run([str(EXE), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def creds(out: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+):\s+(\S+)", out, re.MULTILINE))


def test_version(tmp_path: Path) -> None:
    r = run(tmp_path, "version")
    assert r.returncode == 0 and re.match(r"deskbridge \d+\.\d+\.\d+ \(api 1\)", r.stdout)


def test_init_is_idempotent_and_secret_rotates(tmp_path: Path) -> None:
    first = run(tmp_path, "init", "--agent", "Integrator", "--url", "https://desk.example.com")
    assert first.returncode == 0, first.stderr
    c1 = creds(first.stdout)
    assert c1["api_url"] == "https://desk.example.com/api" and c1["auth_url"] == "https://desk.example.com/auth"
    assert c1["client_secret"].startswith("dbs_")
    key = tmp_path / "deskbridge.key"
    assert (tmp_path / "deskbridge.db").exists()

    second = run(tmp_path, "init", "--agent", "Integrator")
    assert second.returncode == 0, second.stderr
    c2 = creds(second.stdout)
    assert c2["client_id"] == c1["client_id"]
    assert c1["client_secret"] not in second.stdout and "issued before" in second.stdout
    assert "created" not in second.stdout

    rotated = run(tmp_path, "integrator-secret")
    assert rotated.returncode == 0, rotated.stderr
    c3 = creds(rotated.stdout)
    assert c3["client_id"] == c1["client_id"] and c3["client_secret"] != c1["client_secret"]
    if key.exists():
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_serve_then_token_with_init_credentials(tmp_path: Path) -> None:
    out = run(tmp_path, "init", "--agent", "Integrator")
    c = creds(out.stdout)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKBRIDGE_")}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(EXE), "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/version").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.1)
        r = httpx.post(
            f"{base}/auth/token",
            data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
        )
        assert r.status_code == 200, r.text
        me = httpx.get(f"{base}/api/integrator", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert me.status_code == 200 and me.json()["client_id"] == c["client_id"]
        assert (tmp_path / "deskbridge.key").exists()
        assert stat.S_IMODE((tmp_path / "deskbridge.key").stat().st_mode) == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("db", "upgrade"), {"DESKBRIDGE_DATABASE_URL": "nonsense"}, "DESKBRIDGE_DATABASE_URL"),
        (("db", "upgrade"), {"DESKBRIDGE_DATABASE_URL": "mysql://x/y"}, "unsupported database 'mysql'"),
        (("db", "upgrade"), {"DESKBRIDGE_SECRET_KEY": "short"}, "DESKBRIDGE_SECRET_KEY"),
        (("db", "upgrade"), {"DESKBRIDGE_TOKEN_TTL_SECONDS": "abc"}, "DESKBRIDGE_TOKEN_TTL_SECONDS"),
        (("integrator-secret",), {}, "deskbridge init --agent"),
        (("init", "--agent", " "), {}, "--agent"),
        (("init", "--agent", "x", "--url", "ftp://x"), {}, "--url"),
    ],
)
def test_configuration_errors_are_one_red_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    r = run(tmp_path, *args, env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    r = run(tmp_path, "db", "upgrade", env={"DESKBRIDGE_DATABASE_URL": f"postgresql://u@127.0.0.1:{port}/x"})
    assert r.returncode == 2 and "cannot reach the database" in r.stderr and "Traceback" not in r.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run(tmp_path, "serve", "--port", "99999")
    assert r.returncode == 2 and "--port" in r.stderr
    r = run(tmp_path, "no-such-command")
    assert r.returncode == 2
