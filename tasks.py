#!/usr/bin/env python3
"""Set up and run deskbridge with nothing but Python 3.11+.

    python3 tasks.py serve [--host H] [--port P]   run the desk server (SQLite by default)
    python3 tasks.py test [pytest args]            ruff, mypy, then the whole test suite (SQLite and PostgreSQL)
    python3 tasks.py <any deskbridge command>      e.g. `python3 tasks.py init --agent Integrator`

Each command first makes `.venv` (once) and installs the pinned versions in constraints.txt (again only when
pyproject.toml or constraints.txt change).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".deskbridge-stamp"


def _run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_env() -> None:
    """Create the virtualenv and install the pinned dependencies when anything changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older python3
        sys.exit(f"deskbridge needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    wanted = digest.hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing pinned dependencies (constraints.txt) ...", flush=True)
    _run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", "constraints.txt", "-e", ".[dev]")
    STAMP.write_text(wanted)


def test(args: list[str]) -> None:
    """Lint, format check, type check, then pytest."""
    _run(BIN / "ruff", "check", "src", "tests", "bench", "tasks.py")
    _run(BIN / "ruff", "format", "--check", "src", "tests", "bench", "tasks.py")
    _run(BIN / "mypy", "src")
    _run(PY, "-m", "pytest", *args)


def main() -> None:
    """Dispatch the command line."""
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return
    ensure_env()
    if args[0] == "test":
        test(args[1:])
    else:
        os.execv(str(BIN / "deskbridge"), [str(BIN / "deskbridge"), *args])


if __name__ == "__main__":
    main()
