"""Schedules: --every, cron checks, next run, and the crontab / systemd / Task Scheduler renderings."""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path, PureWindowsPath
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from deskbridge.exceptions import ConfigurationError
from deskbridge.integrator.schedule import next_run, parse_every, render, validate_cron, write_rendered

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
CONFIG = Path("/srv/desk bridge/5 min/appsettings.json")
WORKDIR = Path("/srv/desk bridge")
COMMAND = ["/srv/desk bridge/.venv/bin/deskbridge"]


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        ("5m", "*/5 * * * *"),
        ("1m", "* * * * *"),
        ("15 min", "*/15 * * * *"),
        ("30m", "*/30 * * * *"),
        ("60m", "0 * * * *"),
        ("1h", "0 * * * *"),
        ("2H", "0 */2 * * *"),
        ("12h", "0 */12 * * *"),
        ("24h", "0 0 * * *"),
        ("1d", "0 0 * * *"),
        ("7d", "0 0 * * 0"),
        ("1w", "0 0 * * 0"),
    ],
)
def test_parse_every_exact(every: str, cron: str) -> None:
    assert parse_every(every) == cron
    assert validate_cron(cron) == cron


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        ("7m", "*/6 * * * *"),
        ("8m", "*/6 * * * *"),
        ("45m", "*/30 * * * *"),
        ("90m", "0 * * * *"),
        ("5h", "0 */4 * * *"),
    ],
)
def test_parse_every_rounds_to_an_even_step_and_warns(every: str, cron: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="deskbridge.integrator.schedule"):
        assert parse_every(every) == cron
    assert "schedule.rounded" in caplog.text


@pytest.mark.parametrize("every", ["90s", "5", "m", "abc", "0m", "3d", "2w", "-5m", "5 m x"])
def test_parse_every_rejects_with_the_allowed_forms(every: str) -> None:
    with pytest.raises(ConfigurationError, match=r"--every"):
        parse_every(every)


def test_parse_every_message_lists_forms() -> None:
    with pytest.raises(ConfigurationError, match=r"<N>m \(minutes\), <N>h \(hours\)"):
        parse_every("90s")


def test_validate_cron_normalises_and_refuses() -> None:
    assert validate_cron("  */5   *  * * * ") == "*/5 * * * *"
    assert validate_cron("@daily") == "0 0 * * *"
    assert validate_cron("@HOURLY") == "0 * * * *"
    for bad, hint in [("* * * *", "5 fields"), ("0 0 * * * 0", "5 fields"), ("61 * * * *", "not a valid"), ("", "5")]:
        with pytest.raises(ConfigurationError, match=hint):
            validate_cron(bad)


def test_next_run_is_utc_and_strictly_after() -> None:
    after = datetime(2024, 5, 1, 10, 2, tzinfo=UTC)
    assert next_run("*/5 * * * *", after, tz=UTC) == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    exact = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert next_run("*/5 * * * *", exact, tz=UTC) == datetime(2024, 5, 1, 10, 10, tzinfo=UTC)
    local = next_run("0 2 * * *", after)
    assert local.tzinfo == UTC and local > after
    with pytest.raises(ValueError, match="aware"):
        next_run("* * * * *", datetime(2024, 1, 1))


def test_next_run_reads_the_wall_clock_of_the_zone() -> None:
    london = ZoneInfo("Europe/London")
    # Summer: 02:00 London is 01:00 UTC.
    assert next_run("0 2 * * *", datetime(2024, 7, 1, tzinfo=UTC), tz=london) == datetime(2024, 7, 1, 1, tzinfo=UTC)
    # Spring forward (31 March 2024, 01:00 -> 02:00): 01:30 does not exist and runs one hour later by the new clock.
    spring = next_run("30 1 * * *", datetime(2024, 3, 31, tzinfo=UTC), tz=london)
    assert spring == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    # Fall back (27 October 2024): 01:30 happens twice and runs the first time only.
    first = next_run("30 1 * * *", datetime(2024, 10, 27, tzinfo=UTC), tz=london)
    assert first == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert next_run("30 1 * * *", first, tz=london) == datetime(2024, 10, 28, 1, 30, tzinfo=UTC)


# --- crontab ------------------------------------------------------------------------------------------------------


def test_cron_line_round_trips_and_quotes() -> None:
    files = render("cron", config_path=CONFIG, cron="*/5 * * * *", command=COMMAND, workdir=WORKDIR, name="five")
    (line,) = files.values()
    assert line.endswith("\n") and line.count("\n") == 1
    fields = line.split(" ", 5)
    assert " ".join(fields[:5]) == "*/5 * * * *"
    assert croniter.is_valid(" ".join(fields[:5]))
    words = shlex.split(fields[5])
    assert words[:2] == ["cd", str(WORKDIR)]
    i = words.index(COMMAND[0])
    assert words[i : i + 4] == [COMMAND[0], "integrator", "AUTO", str(CONFIG)]
    assert words[-3:] == [">>", str(WORKDIR / "logs" / "five.cron.log"), "2>&1"]


def test_cron_line_escapes_percent() -> None:
    files = render(
        "cron", config_path=Path("/x/100%/a.json"), cron="@hourly", command=["deskbridge"], workdir=Path("/x"), name="p"
    )
    (line,) = files.values()
    assert "100\\%" in line and re.search(r"(?<!\\)%", line) is None


@pytest.mark.parametrize("name", ["", "a b", "../x", "x/y", "é"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="schedule name"):
        render("cron", config_path=CONFIG, cron="* * * * *", command=COMMAND, workdir=WORKDIR, name=name)


# --- systemd ------------------------------------------------------------------------------------------------------

SYSTEMD_CASES = [
    "*/5 * * * *",
    "* * * * *",
    "0 * * * *",
    "7 */2 * * *",
    "30 2 * * *",
    "0 9-17 * * 1-5",
    "15,45 8,12,18 * * *",
    "0 0 1 * *",
    "0 6 1,15 * 1",  # day-of-month OR weekday: two OnCalendar lines
    "0 0 * jan,jul sun",
    "5-20/5 3 * * 0,6",
    "0 0 */10 */3 *",
    "0 12 * * 7",
]


def _on_calendar(timer: str) -> list[str]:
    return [line.split("=", 1)[1] for line in timer.splitlines() if line.startswith("OnCalendar=")]


@pytest.mark.parametrize("cron", SYSTEMD_CASES)
def test_systemd_units(cron: str) -> None:
    files = render("systemd", config_path=CONFIG, cron=cron, command=COMMAND, workdir=WORKDIR, name="sync")
    service, timer = files["deskbridge-sync.service"], files["deskbridge-sync.timer"]
    assert f"WorkingDirectory={WORKDIR}\n" in service
    assert f'ExecStart="{COMMAND[0]}" integrator AUTO "{CONFIG}"\n' in service
    assert "Type=oneshot" in service
    assert "Persistent=true" in timer and "Unit=deskbridge-sync.service" in timer
    assert _on_calendar(timer)


def _systemd_elapses(spec: str, base: datetime, count: int) -> list[datetime]:
    out = subprocess.run(
        ["systemd-analyze", "calendar", f"--iterations={count}", f"--base-time={base:%Y-%m-%d %H:%M:%S} UTC", spec],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin", "SYSTEMD_COLORS": "0"},
    ).stdout
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for s in found]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("cron", SYSTEMD_CASES)
def test_systemd_calendar_accepted_and_fires_when_cron_does(cron: str) -> None:
    files = render("systemd", config_path=CONFIG, cron=cron, command=COMMAND, workdir=WORKDIR, name="sync")
    base = datetime(2024, 2, 27, 13, 1, tzinfo=UTC)
    count = 12
    systemd = sorted(
        {t for spec in _on_calendar(files["deskbridge-sync.timer"]) for t in _systemd_elapses(spec, base, count)}
    )
    it = croniter(cron, base.replace(tzinfo=None))
    expected = [it.get_next(datetime).replace(tzinfo=UTC) for _ in range(count)]
    assert systemd[:count] == expected


def test_systemd_escapes_specifiers() -> None:
    files = render(
        "systemd",
        config_path=Path("/x/50%$HOME/a.json"),
        cron="@daily",
        command=["deskbridge"],
        workdir=Path("/x/%h"),
        name="e",
    )
    assert "WorkingDirectory=/x/%%h\n" in files["deskbridge-e.service"]
    assert 'AUTO "/x/50%%$$HOME/a.json"' in files["deskbridge-e.service"]


# --- Windows ------------------------------------------------------------------------------------------------------


def _task(cron: str) -> ET.Element:
    files = render(
        "windows",
        config_path=PureWindowsPath(r"C:\Halo Integrator\5 Mins\appsettings.json"),
        cron=cron,
        command=[r"C:\Halo Integrator\deskbridge.exe"],
        workdir=PureWindowsPath("C:\\Halo Integrator\\"),
        name="five",
    )
    xml = files["deskbridge-five.xml"]
    assert xml.startswith('<?xml version="1.0" encoding="UTF-16"?>')
    return ET.fromstring(xml.encode("utf-16"))


def test_windows_task_runs_in_parallel_from_the_workdir() -> None:
    task = _task("*/5 * * * *")
    assert task.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=NS) == "Parallel"
    assert task.findtext("t:Actions/t:Exec/t:Command", namespaces=NS) == r"C:\Halo Integrator\deskbridge.exe"
    assert task.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS) == (
        r'integrator AUTO "C:\Halo Integrator\5 Mins\appsettings.json"'
    )
    assert task.findtext("t:Actions/t:Exec/t:WorkingDirectory", namespaces=NS) == "C:\\Halo Integrator"
    (trigger,) = task.findall("t:Triggers/t:CalendarTrigger", NS)
    assert trigger.findtext("t:Repetition/t:Interval", namespaces=NS) == "PT5M"
    assert trigger.findtext("t:Repetition/t:Duration", namespaces=NS) == "P1D"
    assert trigger.findtext("t:StartBoundary", namespaces=NS) == "2024-01-01T00:00:00"
    assert trigger.find("t:ScheduleByDay/t:DaysInterval", NS) is not None


def test_windows_every_n_hours_daily_and_weekly() -> None:
    (hours,) = _task("15 */2 * * *").findall("t:Triggers/t:CalendarTrigger", NS)
    assert hours.findtext("t:Repetition/t:Interval", namespaces=NS) == "PT2H"
    assert hours.findtext("t:StartBoundary", namespaces=NS) == "2024-01-01T00:15:00"
    (daily,) = _task("30 2 * * *").findall("t:Triggers/t:CalendarTrigger", NS)
    assert daily.find("t:Repetition", NS) is None
    assert daily.findtext("t:StartBoundary", namespaces=NS) == "2024-01-01T02:30:00"
    weekly = _task("0 9,17 * * mon-fri").findall("t:Triggers/t:CalendarTrigger", NS)
    assert [t.findtext("t:StartBoundary", namespaces=NS) for t in weekly] == [
        "2024-01-01T09:00:00",
        "2024-01-01T17:00:00",
    ]
    days = weekly[0].find("t:ScheduleByWeek/t:DaysOfWeek", NS)
    assert days is not None
    assert [d.tag.split("}")[1] for d in days] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@pytest.mark.parametrize("cron", ["0 0 1 * *", "0 0 * 6 *", "*/5 9-17 * * *", "*/7 * * * *", "0 0 * * 1#2"])
def test_windows_refuses_what_task_scheduler_cannot_say(cron: str) -> None:
    with pytest.raises(ConfigurationError, match="--every"):
        _task(cron)


def test_write_rendered_writes_xml_as_utf16(tmp_path: Path) -> None:
    files = render("windows", config_path=CONFIG, cron="@hourly", command=COMMAND, workdir=WORKDIR, name="h")
    files |= render("systemd", config_path=CONFIG, cron="@hourly", command=COMMAND, workdir=WORKDIR, name="h")
    written = write_rendered(files, tmp_path / "out")
    assert sorted(p.name for p in written) == ["deskbridge-h.service", "deskbridge-h.timer", "deskbridge-h.xml"]
    raw = (tmp_path / "out" / "deskbridge-h.xml").read_bytes()
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert ET.fromstring(raw).tag.endswith("Task")
    assert (tmp_path / "out" / "deskbridge-h.timer").read_text(encoding="utf-8").startswith("[Unit]")


def test_next_run_agrees_with_croniter_over_a_year() -> None:
    after = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(50):
        nxt = next_run("0 9 * * mon", after, tz=UTC)
        assert nxt.weekday() == 0 and nxt.hour == 9 and nxt - after <= timedelta(days=7)
        after = nxt
