"""Throwaway PostgreSQL server for the test suite.

The helper starts a real, private PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free ``127.0.0.1`` TCP port and
hands out SQLAlchemy URLs for fresh databases inside it. It is meant to be driven from a pytest session fixture::

    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    server.start()
    try:
        url = server.create_database("deskbridge_test")
        ...
    finally:
        server.stop()

Design notes:

* PostgreSQL refuses to run as root. When the test process is root, every PostgreSQL binary is run as the
  unprivileged ``postgres`` system user (falling back to ``nobody``) through ``runuser -u USER --`` or, if
  ``runuser`` is missing, ``su USER -s /bin/sh -c``.
* pytest's ``tmp_path_factory`` directories live under ``/tmp/pytest-of-root/`` (mode 0700) when running as root,
  so the server user could not traverse into them. As root the runtime tree (data directory, socket directory and
  server log) is therefore created with ``tempfile.mkdtemp(prefix="deskbridge-pg-", dir="/tmp")`` and that tree is
  chowned to the server user (mode 0700, so other users cannot read it; root can still read and delete it). As a
  normal user the runtime tree is ``base_dir/pg`` itself, unless that path is too long for a Unix socket path,
  in which case a ``mkdtemp`` tree is used as well.
* The runtime tree is deleted by :meth:`PostgresServer.stop`; before that the server log is copied to
  ``base_dir/postgres.log`` so it can be inspected after a failed run.
* The cluster uses ``trust`` authentication for the superuser ``deskbridge`` and is tuned for speed, not
  durability (``fsync=off`` and friends). Never point it at data you care about.
* :meth:`PostgresServer.start` registers an :mod:`atexit` hook so that a test session that dies with an exception
  does not leave a server running. (Nothing can help against ``SIGKILL``.)
* If no PostgreSQL binaries are found, :func:`ensure_pg_bin` installs Debian's ``postgresql`` package with
  ``apt-get`` when running as root, so a fresh CI machine needs no manual setup.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pathlib
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import urllib.parse

import psycopg
from psycopg import sql

__all__ = ["PostgresServer", "ensure_pg_bin", "find_pg_bin"]

#: Superuser created by ``initdb`` and used in every URL.
PG_USER = "deskbridge"

#: Candidate unprivileged users to run the server as when the test process is root.
_SERVER_USERS = ("postgres", "nobody")

#: Unix socket paths are limited to ~107 bytes; leave room for ``/.s.PGSQL.NNNNN``.
_MAX_SOCKET_DIR_LEN = 80

_START_ATTEMPTS = 3


def find_pg_bin() -> pathlib.Path | None:
    """Locate a directory holding the PostgreSQL server binaries.

    Returns:
        The newest ``/usr/lib/postgresql/<version>/bin`` that contains ``initdb``, otherwise the directory of the
        ``initdb`` found on ``PATH``, otherwise ``None``.
    """
    candidates: list[tuple[tuple[int, ...], pathlib.Path]] = []
    root = pathlib.Path("/usr/lib/postgresql")
    if root.is_dir():
        for bin_dir in root.glob("*/bin"):
            if not (bin_dir / "initdb").is_file():
                continue
            version = tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))
            candidates.append((version, bin_dir))
    if candidates:
        return max(candidates)[1]
    initdb = shutil.which("initdb")
    if initdb:
        return pathlib.Path(initdb).resolve().parent
    return None


def ensure_pg_bin() -> pathlib.Path:
    """Return the PostgreSQL binary directory, installing PostgreSQL via ``apt-get`` if needed.

    The install is only attempted when running as root on a machine with ``apt-get``. If the first
    ``apt-get install`` fails (typically because the package lists are empty on a fresh container), ``apt-get update``
    is run and the install retried once.

    Returns:
        The directory containing ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        RuntimeError: If PostgreSQL is not installed and cannot be installed automatically.
    """
    bin_dir = find_pg_bin()
    if bin_dir is not None:
        return bin_dir
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin or "
            "on PATH, and they cannot be installed automatically (that needs root and apt-get). Install PostgreSQL "
            "(e.g. `apt-get install postgresql`) or put its bin directory on PATH."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "--no-install-recommends", "postgresql"]
    outputs: list[str] = []
    result = _run_capture(install, env)
    outputs.append(result.stdout)
    if result.returncode != 0:
        update = _run_capture([apt_get, "update"], env)
        outputs.append(update.stdout)
        result = _run_capture(install, env)
        outputs.append(result.stdout)
    bin_dir = find_pg_bin()
    if result.returncode != 0 or bin_dir is None:
        tail = "\n".join("\n".join(outputs).splitlines()[-30:])
        raise RuntimeError(
            f"Could not install PostgreSQL: `{shlex.join(install)}` exited with code {result.returncode} and initdb "
            f"is still not found in /usr/lib/postgresql/*/bin or on PATH. apt-get output tail:\n{tail}"
        )
    return bin_dir


def _run_capture(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` and capture its combined output, never raising on a non-zero exit.

    Args:
        cmd: Command line to run.
        env: Environment for the child process.

    Returns:
        The completed process; ``stdout`` holds stdout and stderr interleaved.
    """
    return subprocess.run(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=1800
    )


def _free_port() -> int:
    """Ask the kernel for a currently unused TCP port on 127.0.0.1.

    Returns:
        A port number. It may be taken by someone else before the server binds it; :meth:`PostgresServer.start`
        retries with a new port in that case.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> pwd.struct_passwd:
    """Pick the unprivileged account that runs the server when the test process is root.

    Returns:
        The password database entry of the first existing user in :data:`_SERVER_USERS`.

    Raises:
        RuntimeError: If none of the candidate users exists.
    """
    for name in _SERVER_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"running as root, but none of the users {_SERVER_USERS} exists to run PostgreSQL as")


class PostgresServer:
    """A private, throwaway PostgreSQL cluster listening on 127.0.0.1.

    Args:
        base_dir: Directory owned by the test session (e.g. from ``tmp_path_factory``). As a normal user the
            cluster lives in ``base_dir/pg``; as root it lives in a separate ``/tmp/deskbridge-pg-*`` tree (see the
            module docstring). The server log is copied to ``base_dir/postgres.log`` on :meth:`stop`.
    """

    def __init__(self, base_dir: pathlib.Path) -> None:
        self.base_dir = pathlib.Path(base_dir)
        self._bin_dir: pathlib.Path | None = None
        self._root_dir: pathlib.Path | None = None
        self._port: int | None = None
        self._running = False
        self._as_user: pwd.struct_passwd | None = None

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        """TCP port the server listens on (127.0.0.1).

        Raises:
            RuntimeError: If the server has not been started.
        """
        if self._port is None or not self._running:
            raise RuntimeError("PostgreSQL server is not running")
        return self._port

    @property
    def data_dir(self) -> pathlib.Path:
        """The cluster's data directory."""
        return self._require_root() / "data"

    @property
    def socket_dir(self) -> pathlib.Path:
        """Directory holding the server's Unix socket."""
        return self._require_root() / "sock"

    @property
    def log_file(self) -> pathlib.Path:
        """The server log written by ``pg_ctl -l``."""
        return self._require_root() / "postgres.log"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Create the cluster with ``initdb`` and start it on a free port.

        Raises:
            RuntimeError: If the server is already running, ``initdb`` fails or the server does not come up; the
                message includes the tail of the relevant log.
        """
        if self._running:
            raise RuntimeError("PostgreSQL server is already running")
        self._bin_dir = ensure_pg_bin()
        self._as_user = _server_user() if os.geteuid() == 0 else None
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._root_dir = self._make_root_dir()
        atexit.register(self.stop)
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (``pg_ctl -m fast stop``) and delete its runtime tree. Safe to call repeatedly."""
        atexit.unregister(self.stop)
        root = self._root_dir
        if root is None:
            return
        if self._running or (root / "data" / "postmaster.pid").exists():
            self._pg_ctl_stop("fast")
            if (root / "data" / "postmaster.pid").exists():
                self._pg_ctl_stop("immediate")
        self._running = False
        log = root / "postgres.log"
        if log.is_file():
            with contextlib.suppress(OSError):
                shutil.copyfile(log, self.base_dir / "postgres.log")
        shutil.rmtree(root, ignore_errors=True)
        self._root_dir = None

    # ------------------------------------------------------------------ databases

    def create_database(self, name: str) -> str:
        """Create a database and return a SQLAlchemy URL for it.

        Args:
            name: Database name; any string PostgreSQL accepts as a quoted identifier.

        Returns:
            ``postgresql+psycopg://deskbridge@127.0.0.1:PORT/name``.

        Raises:
            RuntimeError: If the server is not running.
        """
        port = self.port
        with psycopg.connect(
            host="127.0.0.1", port=port, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/{urllib.parse.quote(name, safe='')}"

    # ------------------------------------------------------------------ internals

    def _require_root(self) -> pathlib.Path:
        if self._root_dir is None:
            raise RuntimeError("PostgreSQL server has not been started")
        return self._root_dir

    def _make_root_dir(self) -> pathlib.Path:
        """Create the runtime tree and make it usable by the server user.

        Returns:
            The new (empty) runtime directory.
        """
        if self._as_user is None:
            candidate = self.base_dir.resolve() / "pg"
            if len(str(candidate / "sock")) <= _MAX_SOCKET_DIR_LEN and not candidate.exists():
                candidate.mkdir(mode=0o700)
                root = candidate
            else:
                root = pathlib.Path(tempfile.mkdtemp(prefix="deskbridge-pg-"))
        else:
            root = pathlib.Path(tempfile.mkdtemp(prefix="deskbridge-pg-", dir="/tmp"))
        (root / "sock").mkdir(mode=0o700)
        if self._as_user is not None:
            for path in (root, root / "sock"):
                os.chown(path, self._as_user.pw_uid, self._as_user.pw_gid)
        return root

    def _env(self) -> dict[str, str]:
        """Environment for PostgreSQL binaries: no stray ``PG*`` variables, C locale."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        if self._as_user is not None:
            env["HOME"] = str(self._require_root())
            env["USER"] = env["LOGNAME"] = self._as_user.pw_name
        return env

    def _command(self, args: list[str]) -> list[str]:
        """Wrap a PostgreSQL command line so it runs as the server user when we are root.

        Args:
            args: Command line of a PostgreSQL binary.

        Returns:
            The command line to execute.
        """
        if self._as_user is None:
            return args
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self._as_user.pw_name, "--", *args]
        su = shutil.which("su")
        if su:
            return [su, self._as_user.pw_name, "-s", "/bin/sh", "-c", shlex.join(args)]
        raise RuntimeError("running as root, but neither runuser nor su is available to drop privileges")

    def _run(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary (as the server user if needed), capturing its output.

        Args:
            args: Command line of a PostgreSQL binary.
            timeout: Seconds before the command is killed.

        Returns:
            The completed process; never raises on a non-zero exit.
        """
        return subprocess.run(
            self._command(args),
            env=self._env(),
            cwd=self._require_root(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=timeout,
        )

    def _bin(self, name: str) -> str:
        assert self._bin_dir is not None
        return str(self._bin_dir / name)

    def _initdb(self) -> None:
        result = self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed (exit code {result.returncode}):\n{_tail(result.stdout)}")

    def _start_server(self) -> None:
        """Start the server, retrying with a new port if the chosen one was grabbed in the meantime."""
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            options = " ".join(
                f"-c {shlex.quote(setting)}"
                for setting in (
                    "fsync=off",
                    "synchronous_commit=off",
                    "full_page_writes=off",
                    "listen_addresses=127.0.0.1",
                    f"port={port}",
                    f"unix_socket_directories={self.socket_dir}",
                    "max_connections=200",
                )
            )
            try:
                result = self._run(
                    [
                        self._bin("pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        str(self.log_file),
                        "-o",
                        options,
                        "start",
                    ],
                    timeout=90,
                )
                returncode, output = result.returncode, result.stdout
            except subprocess.TimeoutExpired as exc:
                returncode, output = -1, f"pg_ctl start timed out after {exc.timeout}s"
            if returncode == 0:
                self._port = port
                self._running = True
                return
            log_tail = self._log_tail()
            last_error = f"pg_ctl start failed (exit code {returncode}):\n{_tail(output)}\nserver log tail:\n{log_tail}"
            if (self.data_dir / "postmaster.pid").exists():
                self._pg_ctl_stop("immediate")
            if "could not bind" not in log_tail and "already in use" not in log_tail:
                break
        raise RuntimeError(last_error)

    def _pg_ctl_stop(self, mode: str) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError, RuntimeError):
            self._run(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"],
                timeout=90,
            )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return _tail(self.log_file.read_text(errors="replace"), lines)
        except OSError as exc:
            return f"<could not read {self.log_file}: {exc}>"


def _tail(text: str, lines: int = 40) -> str:
    """Return the last ``lines`` lines of ``text``.

    Args:
        text: Text to shorten.
        lines: Number of trailing lines to keep.

    Returns:
        The trailing lines joined with newlines.
    """
    return "\n".join(text.splitlines()[-lines:])
