"""Schedules for the integrator: ``--every`` intervals, cron expressions, and the scheduler entries that run it.

A schedule is a standard five-field cron expression (``minute hour day-of-month month day-of-week``), evaluated in
the machine's **local time**, as cron, systemd timers and the Windows Task Scheduler all do: ``0 2 * * *`` means
02:00 on the wall clock, summer and winter. Across a daylight-saving change a wall-clock time that does not exist
runs at the same instant as one hour later on the new clock, and one that happens twice runs the first time.

:func:`render` turns a schedule into what the machine's scheduler takes: a crontab line, a systemd service and
timer pair, or a Task Scheduler XML file whose task runs a new instance in parallel when the previous run is still
going (seed 001; the integrator's leases keep two runs of the same entity apart). A systemd timer does not start a
second copy of a service that is still running; the elapsed run is skipped instead.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePath
from typing import Literal

from deskbridge.exceptions import ConfigurationError

__all__ = ["Format", "next_run", "parse_every", "render", "validate_cron", "write_rendered"]

logger = logging.getLogger(__name__)

Format = Literal["cron", "systemd", "windows"]

_EVERY_RE = re.compile(
    r"^\s*(?P<n>\d{1,6})\s*(?P<unit>m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)\s*$", re.IGNORECASE
)
_EVERY_FORMS = "<N>m (minutes), <N>h (hours), 1d (daily at midnight) or 7d / 1w (weekly), e.g. 5m, 2h, 1d"
_MINUTE_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)  # divide an hour evenly
_HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12)  # divide a day evenly
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SUGGEST = "use --every (e.g. --every 15m) or a simpler cron expression"


def parse_every(text: str) -> str:
    """Turn an interval such as ``5m``, ``2h``, ``1d`` or ``1w`` into a cron expression.

    Cron restarts its steps each hour and each day, so only intervals that divide an hour (minutes) or a day
    (hours) keep even gaps; any other interval below a day is rounded to the nearest one that does (ties go to the
    shorter interval) and a warning is logged. ``1d`` runs daily at 00:00 and ``7d``/``1w`` weekly on Sunday at
    00:00; other day counts are refused.

    Raises:
        ConfigurationError: ``text`` is not one of the accepted forms.
    """
    match = _EVERY_RE.match(text)
    if not match:
        raise ConfigurationError(f"--every {text!r}: expected {_EVERY_FORMS} (cron cannot run every few seconds)")
    minutes = int(match["n"]) * {"m": 1, "h": 60, "d": 1440, "w": 10080}[match["unit"].lower()[0]]
    if minutes <= 0:
        raise ConfigurationError(f"--every {text!r}: the interval must be more than zero")
    if minutes == 10080:
        return "0 0 * * 0"
    if minutes > 1440:
        raise ConfigurationError(f"--every {text!r}: intervals over a day must be 7d (weekly); use a cron expression")
    candidates = [(m, f"*/{m} * * * *" if m > 1 else "* * * * *") for m in _MINUTE_STEPS]
    candidates += [(h * 60, f"0 */{h} * * *" if h > 1 else "0 * * * *") for h in _HOUR_STEPS]
    candidates.append((1440, "0 0 * * *"))
    chosen, expr = min(candidates, key=lambda c: (abs(c[0] - minutes), c[0]))
    if chosen != minutes:
        logger.warning(
            "schedule.rounded every=%r minutes=%d chosen_minutes=%d cron=%r (cron steps must divide an hour or a day)",
            text,
            minutes,
            chosen,
            expr,
        )
    return expr


def validate_cron(expr: str) -> str:
    """Check a five-field cron expression (or ``@hourly``, ``@daily`` …) and return it normalised.

    Whitespace is collapsed and ``@`` aliases are spelled out as five fields.

    Raises:
        ConfigurationError: the expression is not a valid five-field cron expression.
    """
    text = " ".join(expr.split())
    text = _ALIASES.get(text.lower(), text)
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise ConfigurationError(
            f"schedule {expr!r}: a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"e.g. '*/5 * * * *', got {len(fields)}; or use --every 5m"
        )
    # Imported here: every run loads its config file, which may hold a schedule, but only this check and the
    # scheduler need croniter.
    from croniter import croniter  # type: ignore[import-untyped]

    if not croniter.is_valid(text):
        raise ConfigurationError(
            f"schedule {expr!r}: not a valid cron expression (minute 0-59, hour 0-23, day 1-31, month 1-12 or "
            "jan-dec, weekday 0-7 or sun-sat; lists a,b ranges a-b steps */n), e.g. '0 2 * * *'; or use --every 1d"
        )
    return text


def next_run(expr: str, after: datetime, *, tz: tzinfo | None = None) -> datetime:
    """Return the first time strictly after ``after`` at which ``expr`` fires, as an aware UTC datetime.

    Args:
        expr: A cron expression (checked with :func:`validate_cron`).
        after: An aware datetime (any zone).
        tz: The zone whose wall clock the expression reads; ``None`` means the machine's local time, like cron.

    Raises:
        ValueError: ``after`` is naive.
        ConfigurationError: ``expr`` is not a valid cron expression.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("next_run() needs an aware datetime")
    from croniter import croniter

    text = validate_cron(expr)
    # croniter walks the wall clock (naive local time); each candidate is then placed on the timeline.
    wall_after = (after.astimezone(tz) if tz is not None else after.astimezone()).replace(tzinfo=None)
    it = croniter(text, wall_after)
    while True:
        wall: datetime = it.get_next(datetime)
        instant = wall.replace(tzinfo=tz) if tz is not None else wall.astimezone()
        if instant > after:
            return instant.astimezone(UTC)


# --- cron fields as sets ------------------------------------------------------------------------------------------

_SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
_DAYS = {d.lower(): i for i, d in enumerate(_SYSTEMD_DAYS)}
_WINDOWS_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_ITEM_RE = re.compile(r"^(?:(?P<star>\*)|(?P<a>[a-z0-9]+)(?:-(?P<b>[a-z0-9]+))?)(?:/(?P<step>\d+))?$")


@dataclass(slots=True, frozen=True)
class _Fields:
    expr: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday


_RANGES: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 7, _DAYS),
)


def _parse_fields(expr: str) -> _Fields:
    sets: list[tuple[int, ...]] = []
    for text, (low, high, names) in zip(expr.lower().split(" "), _RANGES, strict=True):
        values: set[int] = set()
        for item in text.split(","):
            match = _ITEM_RE.match(item)
            if not match:
                raise ConfigurationError(
                    f"schedule {expr!r}: {item!r} cannot be converted for this scheduler; {_SUGGEST}"
                )
            try:
                start = low if match["star"] else int(names.get(match["a"], match["a"]))
                end = int(names.get(match["b"], match["b"])) if match["b"] else start
            except ValueError:
                raise ConfigurationError(f"schedule {expr!r}: {item!r} cannot be converted; {_SUGGEST}") from None
            if match["star"] or (match["step"] and not match["b"]):
                end = high
            values.update(range(start, end + 1, int(match["step"] or 1)))
        if high == 7:  # weekday 7 is Sunday too
            values = {v % 7 for v in values}
        sets.append(tuple(sorted(values)))
    return _Fields(expr, *sets)


def _is_full(values: tuple[int, ...], low: int, high: int) -> bool:
    return values == tuple(range(low, high + 1))


def _step_of(values: tuple[int, ...], period: int) -> int | None:
    """Return k when ``values`` is ``s, s+k, … `` through the whole ``period`` (k divides it), else ``None``."""
    if len(values) < 2:
        return None
    k = values[1] - values[0]
    if period % k or values[0] >= k or values != tuple(range(values[0], period, k)):
        return None
    return k


# --- systemd ------------------------------------------------------------------------------------------------------


def _calendar_values(values: tuple[int, ...], low: int, high: int, width: int = 2) -> str:
    if _is_full(values, low, high):
        return "*"
    if len(values) >= 3:
        k = values[1] - values[0]
        if values == tuple(range(values[0], high + 1, k)) and values[-1] + k > high:
            return f"{values[0]:0{width}d}/{k}"
    parts: list[str] = []
    run: list[int] = []
    for v in [*values, -10]:
        if run and v == run[-1] + 1:
            run.append(v)
            continue
        if len(run) >= 3:
            parts.append(f"{run[0]:0{width}d}..{run[-1]:0{width}d}")
        else:
            parts.extend(f"{r:0{width}d}" for r in run)
        run = [v]
    return ",".join(parts)


def _on_calendar(fields: _Fields) -> list[str]:
    time = f"{_calendar_values(fields.hours, 0, 23)}:{_calendar_values(fields.minutes, 0, 59)}:00"
    month = _calendar_values(fields.months, 1, 12)
    days_any = _is_full(fields.days, 1, 31)
    weekdays_any = _is_full(fields.weekdays, 0, 6)
    week = ",".join(_SYSTEMD_DAYS[d] for d in fields.weekdays)
    if not days_any and not weekdays_any:
        # cron fires when either the day of month or the weekday matches; systemd needs both, so two lines.
        day = _calendar_values(fields.days, 1, 31)
        return [f"*-{month}-{day} {time}", f"{week} *-{month}-* {time}"]
    prefix = "" if weekdays_any else week + " "
    return [f"{prefix}*-{month}-{_calendar_values(fields.days, 1, 31)} {time}"]


_SYSTEMD_SAFE = re.compile(r"^[A-Za-z0-9_./:@+=,-]+$")


def _systemd_escape(text: str) -> str:
    # % starts a specifier and $ a variable in unit files; doubling makes them literal.
    return text.replace("%", "%%").replace("$", "$$")


def _systemd_arg(arg: str) -> str:
    if _SYSTEMD_SAFE.match(arg):
        return _systemd_escape(arg)
    return '"' + _systemd_escape(arg.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _systemd_units(fields: _Fields, args: Sequence[str], workdir: PurePath, name: str) -> dict[str, str]:
    service = (
        "[Unit]\n"
        f"Description=deskbridge integrator ({name})\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={_systemd_escape(str(workdir))}\n"
        f"ExecStart={' '.join(_systemd_arg(a) for a in args)}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run deskbridge integrator ({name}) on {_systemd_escape(fields.expr)}\n\n"
        "[Timer]\n" + "".join(f"OnCalendar={spec}\n" for spec in _on_calendar(fields)) + "Persistent=true\n"
        "AccuracySec=1s\n"
        f"Unit=deskbridge-{name}.service\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"deskbridge-{name}.service": service, f"deskbridge-{name}.timer": timer}


# --- Windows Task Scheduler ---------------------------------------------------------------------------------------

_TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
_START_DATE = "2024-01-01"  # a fixed past Monday keeps the output stable; triggers repeat from it


def _windows_triggers(fields: _Fields) -> list[tuple[int, int, str | None]]:
    """Return ``(hour, minute, repetition interval)`` per trigger, or raise when Task Scheduler cannot say it."""
    if not _is_full(fields.months, 1, 12) or not _is_full(fields.days, 1, 31):
        raise ConfigurationError(
            f"schedule {fields.expr!r}: Task Scheduler triggers here cover every N minutes/hours, daily at HH:MM and "
            f"weekly on days, not days of the month or months; {_SUGGEST}"
        )
    minute_step = _step_of(fields.minutes, 60)
    if minute_step is not None and _is_full(fields.hours, 0, 23):
        return [(0, fields.minutes[0], f"PT{minute_step}M")]
    hour_step = _step_of(fields.hours, 24) if len(fields.minutes) == 1 else None
    if hour_step is not None:
        return [(fields.hours[0], fields.minutes[0], f"PT{hour_step}H")]
    if len(fields.hours) * len(fields.minutes) <= 24:
        return [(h, m, None) for h in fields.hours for m in fields.minutes]
    raise ConfigurationError(f"schedule {fields.expr!r}: too irregular for Task Scheduler triggers; {_SUGGEST}")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _windows_task(fields: _Fields, args: Sequence[str], workdir: PurePath, name: str) -> str:
    task = ET.Element("Task", {"version": "1.2", "xmlns": _TASK_NS})
    info = _sub(task, "RegistrationInfo")
    _sub(info, "Description", f"deskbridge integrator ({name}), schedule {fields.expr}")
    _sub(info, "URI", f"\\deskbridge\\{name}")
    triggers = _sub(task, "Triggers")
    for hour, minute, interval in _windows_triggers(fields):
        trigger = _sub(triggers, "CalendarTrigger")
        if interval is not None:
            repetition = _sub(trigger, "Repetition")
            _sub(repetition, "Interval", interval)
            _sub(repetition, "Duration", "P1D")
            _sub(repetition, "StopAtDurationEnd", "false")
        _sub(trigger, "StartBoundary", f"{_START_DATE}T{hour:02d}:{minute:02d}:00")
        _sub(trigger, "Enabled", "true")
        if _is_full(fields.weekdays, 0, 6):
            _sub(_sub(trigger, "ScheduleByDay"), "DaysInterval", "1")
        else:
            by_week = _sub(trigger, "ScheduleByWeek")
            days = _sub(by_week, "DaysOfWeek")
            for day in fields.weekdays:
                _sub(days, _WINDOWS_DAYS[day])
            _sub(by_week, "WeeksInterval", "1")
    principal = _sub(_sub(task, "Principals"), "Principal")
    principal.set("id", "Author")
    _sub(principal, "LogonType", "S4U")  # runs whether the user is logged on or not, no stored password
    _sub(principal, "RunLevel", "LeastPrivilege")
    settings = _sub(task, "Settings")
    _sub(settings, "MultipleInstancesPolicy", "Parallel")
    _sub(settings, "DisallowStartIfOnBatteries", "false")
    _sub(settings, "StopIfGoingOnBatteries", "false")
    _sub(settings, "StartWhenAvailable", "true")
    _sub(settings, "Enabled", "true")
    actions = _sub(task, "Actions")
    actions.set("Context", "Author")
    exec_ = _sub(actions, "Exec")
    _sub(exec_, "Command", args[0])
    _sub(exec_, "Arguments", subprocess.list2cmdline(args[1:]))
    _sub(exec_, "WorkingDirectory", str(workdir))
    ET.indent(task, space="  ")
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + ET.tostring(task, encoding="unicode") + "\n"


# --- render -------------------------------------------------------------------------------------------------------


def _crontab_line(expr: str, args: Sequence[str], workdir: PurePath, logs_dir: PurePath, name: str) -> str:
    log_file = logs_dir / f"{name}.cron.log"
    shell = (
        f"cd {shlex.quote(str(workdir))} && mkdir -p {shlex.quote(str(logs_dir))} && "
        f"{shlex.join(args)} >> {shlex.quote(str(log_file))} 2>&1"
    )
    # cron turns an unescaped % into a newline.
    return expr + " " + shell.replace("%", "\\%") + "\n"


def render(
    fmt: Format,
    *,
    config_path: PurePath,
    cron: str,
    command: Sequence[str],
    workdir: PurePath,
    name: str,
    logs_dir: PurePath | None = None,
) -> dict[str, str]:
    """Render the scheduler entry that runs ``<command> integrator AUTO <config_path>`` on ``cron``.

    Args:
        fmt: ``cron`` (one crontab line), ``systemd`` (a ``.service`` and a ``.timer``) or ``windows`` (a Task
            Scheduler XML file, to be saved UTF-16 as its declaration says; :func:`write_rendered` does that).
        config_path: The integrator's config file (best absolute).
        cron: The schedule (checked with :func:`validate_cron`).
        command: How to start deskbridge, e.g. ``["/opt/deskbridge/.venv/bin/deskbridge"]``.
        workdir: The folder the integrator starts in (relative log folders land there). Pass a
            ``PureWindowsPath`` to render for another machine.
        name: A short name for the entry (letters, digits, ``_.-``): unit and task names derive from it.
        logs_dir: Where the crontab line appends the command's own output; default ``<workdir>/logs``.

    Returns:
        Suggested file name → content: ``<name>.crontab``; ``deskbridge-<name>.service`` and
        ``deskbridge-<name>.timer``; or ``deskbridge-<name>.xml``.

    Raises:
        ConfigurationError: a bad name or cron expression, or a schedule the format cannot express.
    """
    if not _NAME_RE.match(name):
        raise ConfigurationError(f"schedule name {name!r}: use 1-64 letters, digits, '_', '.' or '-'")
    if not command or not command[0]:
        raise ConfigurationError("schedule: the command to run is empty")
    expr = validate_cron(cron)
    args = [*command, "integrator", "AUTO", str(config_path)]
    if fmt == "cron":
        return {f"{name}.crontab": _crontab_line(expr, args, workdir, logs_dir or workdir / "logs", name)}
    if fmt == "systemd":
        return _systemd_units(_parse_fields(expr), args, workdir, name)
    if fmt == "windows":
        return {f"deskbridge-{name}.xml": _windows_task(_parse_fields(expr), args, workdir, name)}
    raise ConfigurationError(f"unknown schedule format {fmt!r}; expected one of ['cron', 'systemd', 'windows']")


def write_rendered(files: dict[str, str], folder: Path) -> list[Path]:
    """Write what :func:`render` returned into ``folder`` (Task Scheduler XML as UTF-16, the rest as UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, content in files.items():
        target = folder / file_name
        target.write_text(content, encoding="utf-16" if file_name.endswith(".xml") else "utf-8")
        written.append(target)
    return written
