"""Reading rows from a `.csv` or `.xlsx` file, streamed, with its header checked against the mapping."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deskbridge.exceptions import ConfigurationError

__all__ = ["Row", "find_file", "read_rows"]

Row = dict[str, str]


def find_file(folder: Path, pattern: str) -> Path:
    """The file in ``folder`` matching ``pattern`` (the newest of several)."""
    if not folder.is_dir():
        raise ConfigurationError(f"csv_import: the folder {str(folder)!r} does not exist or is not a folder")
    matches = [p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in (".csv", ".xlsx")]
    if not matches:
        raise ConfigurationError(f"csv_import: no .csv or .xlsx file matches {pattern!r} in {str(folder)!r}")
    return max(matches, key=lambda p: (p.stat().st_mtime, p.name))


def read_rows(
    path: Path, *, wanted: list[str], sheet: str | None, delimiter: str | None, encoding: str
) -> Iterator[tuple[int, Row]]:
    """Yield (row number, {wanted header: text}) for each data row; headers are matched ignoring case and spaces.

    Raises:
        ConfigurationError: The file cannot be read, or a wanted column is not in its header.
    """
    rows = _xlsx_rows(path, sheet) if path.suffix.lower() == ".xlsx" else _csv_rows(path, delimiter, encoding)
    try:
        header = next(rows)
    except StopIteration:
        raise ConfigurationError(f"csv_import: {path.name} is empty (it needs a header row)") from None
    positions = {_norm(h): i for i, h in reversed(list(enumerate(header)))}
    missing = [w for w in wanted if _norm(w) not in positions]
    if missing:
        raise ConfigurationError(
            f"csv_import: {path.name} has no column {', '.join(repr(m) for m in missing)}; "
            f"its columns are {', '.join(repr(h) for h in header if h)}"
        )
    index = {w: positions[_norm(w)] for w in wanted}
    for number, values in enumerate(rows, start=2):
        if not any(v.strip() for v in values):
            continue
        yield number, {w: (values[i].strip() if i < len(values) else "") for w, i in index.items()}


def _norm(header: str) -> str:
    return " ".join(header.split()).lower()


def _csv_rows(path: Path, delimiter: str | None, encoding: str) -> Iterator[list[str]]:
    try:
        fh = path.open(newline="", encoding=encoding)
    except (OSError, LookupError) as exc:
        raise ConfigurationError(f"csv_import: cannot open {path.name}: {exc}") from None
    with fh:
        try:
            sample = fh.read(65536)
            fh.seek(0)
            if delimiter is None:
                try:
                    delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
                except csv.Error:
                    delimiter = ","
            yield from csv.reader(fh, delimiter=delimiter)
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"csv_import: {path.name} is not {encoding} text (byte {exc.start}); set `encoding` (e.g. cp1252)"
            ) from None
        except csv.Error as exc:
            raise ConfigurationError(f"csv_import: {path.name} is not valid CSV: {exc}") from None


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise ConfigurationError(f"csv_import: cannot read {path.name} as a spreadsheet: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ConfigurationError(f"csv_import: {path.name} has no sheet {sheet!r}; it has {book.sheetnames}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for values in ws.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
