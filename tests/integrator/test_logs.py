"""Integrator logs: daily files, context fields, pruning, redaction, several processes appending."""

from __future__ import annotations

import base64
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from deskbridge.integrator.logs import configure_logging, log_context, log_file_name, reset_logging
from deskbridge.security.redact import Redactor, register_secret

CANARY = "Canary-S3cr3t/+:vaLue"
LINE_RE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<level>[A-Z]+) "
    r"(?:instance=(?P<instance>\S+) )?run=(?P<run>\S+) integration=(?P<integration>\S+) entity=(?P<entity>\S+) "
    r"(?P<message>.*)$"
)
log = logging.getLogger("deskbridge.tests.logs")


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    reset_logging()
    root.setLevel(level)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def read_all(folder: Path) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob("integrator-*.log")))


def test_canary_never_reaches_the_file_or_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(tmp_path, console="plain", secrets=[CANARY], redactor=Redactor())
    b64 = base64.b64encode(CANARY.encode()).decode()
    basic = base64.b64encode(f"integrator:{CANARY}".encode()).decode()
    log.info("plain %s", CANARY)
    log.info("url https://desk.example.com/api?client_secret=%s&x=1", CANARY)
    log.info("dsn postgresql://desk:%s@db/desk", CANARY)
    log.info("quoted %s and %s", quote(CANARY, safe=""), quote_plus(CANARY))
    log.info("b64 %s urlsafe %s", b64, base64.urlsafe_b64encode(CANARY.encode()).decode())
    log.info("blob %s", basic)
    log.info("headers %s", {"Authorization": f"Basic {basic}", "X-Other": "ok"})
    log.info("body %s", json.dumps({"client_id": "c", "client_secret": CANARY}))
    log.info("settings %r", {"api_key": CANARY, "nested": [CANARY]})
    try:
        secret = CANARY
        raise ValueError(f"login failed with {secret}")
    except ValueError:
        log.exception("token.failed")
    log.warning("stack", stack_info=True)
    text = read_all(tmp_path)
    console = capsys.readouterr().err
    for out in (text, console):
        assert "ok" in out and "token.failed" in out and "Traceback" in out
        for form in (CANARY, quote(CANARY, safe=""), quote_plus(CANARY), b64, basic, CANARY.replace("/", "\\/")):
            assert form not in out
    assert text.count("[redacted]") >= 12


def test_secret_registered_after_start_is_hidden(tmp_path: Path) -> None:
    configure_logging(tmp_path, console="none")  # the process-wide redactor
    late = "late-secret-learned-at-runtime-42"
    register_secret(late)
    log.info("got token %s", late)
    assert late not in read_all(tmp_path)


def test_rich_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(tmp_path, console="rich", secrets=[CANARY], redactor=Redactor())
    with log_context(integration="syncro"):
        log.warning("hello %s", CANARY)
    err = capsys.readouterr().err
    assert "hello [redacted]" in err and "integration=syncro" in err and CANARY not in err


def test_lines_carry_context(tmp_path: Path) -> None:
    configure_logging(tmp_path, console="none", redactor=Redactor())
    log.info("outside")
    with log_context(instance="prod"), log_context(run_id="r-1", integration="syncro"):
        log.info("run level")
        with log_context(entity="assets"):
            log.warning("entity level")
        log.info("back")
    log.info("after", extra={"entity": "from-extra"})
    lines = read_all(tmp_path).splitlines()
    parsed = [LINE_RE.match(line) for line in lines]
    assert all(parsed), lines
    got = [(m["instance"], m["run"], m["integration"], m["entity"], m["level"], m["message"]) for m in parsed if m]
    assert got == [
        (None, "-", "-", "-", "INFO", "outside"),
        ("prod", "r-1", "syncro", "-", "INFO", "run level"),
        ("prod", "r-1", "syncro", "assets", "WARNING", "entity level"),
        ("prod", "r-1", "syncro", "-", "INFO", "back"),
        (None, "-", "-", "from-extra", "INFO", "after"),
    ]
    first = parsed[0]
    assert first is not None
    stamp = datetime.fromisoformat(first["time"])
    assert stamp.utcoffset() is not None


def test_level_filters(tmp_path: Path) -> None:
    configure_logging(tmp_path, console="none", level=logging.WARNING, redactor=Redactor())
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in read_all(tmp_path) and "loud" in read_all(tmp_path)


def test_file_switches_at_midnight(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 1, 23, 59, 59).astimezone())
    configure_logging(tmp_path, console="none", clock=clock, redactor=Redactor())
    log.info("before midnight")
    clock.now = datetime(2024, 5, 2, 0, 0, 1).astimezone()
    log.info("after midnight")
    log.info("still the next day")
    first = (tmp_path / "integrator-2024-05-01.log").read_text().splitlines()
    second = (tmp_path / "integrator-2024-05-02.log").read_text().splitlines()
    assert [line.split(" ", 5)[-1] for line in first] == ["before midnight"]
    assert [line.split(" ", 5)[-1] for line in second] == ["after midnight", "still the next day"]


def test_old_files_are_pruned_at_start(tmp_path: Path) -> None:
    today = date(2024, 5, 31)
    names = {
        log_file_name(today - timedelta(days=31)): False,
        log_file_name(today - timedelta(days=400)): False,
        log_file_name(today - timedelta(days=30)): True,
        log_file_name(today - timedelta(days=1)): True,
        "integrator-2024-13-45.log": True,  # not a date
        "integrator-2000-01-01.log.bak": True,
        "other-2000-01-01.log": True,
        "notes.txt": True,
    }
    for name in names:
        (tmp_path / name).write_text("x\n")
    (tmp_path / "integrator-1999-01-01.log").mkdir()  # a folder of that name is left alone
    configure_logging(tmp_path, console="none", clock=Clock(datetime(2024, 5, 31, 8).astimezone()), redactor=Redactor())
    for name, kept in names.items():
        assert (tmp_path / name).exists() == kept, name
    assert (tmp_path / "integrator-1999-01-01.log").is_dir()
    assert "logs.pruned count=2" in (tmp_path / log_file_name(today)).read_text()


def test_logs_dir_is_created(tmp_path: Path) -> None:
    configure_logging(tmp_path / "a" / "b", console="none", redactor=Redactor())
    log.info("x")
    assert list((tmp_path / "a" / "b").glob("integrator-*.log"))


WRITER = """
import logging, sys
from pathlib import Path
from deskbridge.integrator.logs import configure_logging
configure_logging(Path(sys.argv[1]), console="none")
log = logging.getLogger("writer")
tag = sys.argv[2]
for i in range(int(sys.argv[3])):
    log.info("%s %05d %s", tag, i, tag * 2000)
"""


def test_two_processes_append_whole_lines(tmp_path: Path) -> None:
    count = 400
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag, str(count)], stderr=subprocess.PIPE)
        for tag in ("A", "B")
    ]
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
    lines = read_all(tmp_path).splitlines()
    assert len(lines) == 2 * count
    seen: dict[str, list[int]] = {"A": [], "B": []}
    for line in lines:
        match = LINE_RE.match(line)
        assert match, line[:200]
        tag, number, payload = match["message"].split(" ")
        assert payload == tag * 2000
        seen[tag].append(int(number))
    assert seen == {"A": list(range(count)), "B": list(range(count))}
