"""Annotation sheets: read rows with their Excel row numbers, find the header row, parse cells."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .records import ManifestError

MISSING_APEX = {"", "/", "-", "-1", "n/a", "na", "none", "nan"}
_AU_RE = re.compile(r"(?:AU)?\s*[LRBTU]?(\d+)", re.IGNORECASE)


def read_table(path: Path, sheet: str | None = None) -> list[tuple[Any, ...]]:
    """All rows of a worksheet (``.xlsx``/``.xlsm``: the one named ``sheet``, else the first) or of a
    CSV file (``sheet`` is then ignored).

    Element ``i`` is the row a person sees as row ``i + 1`` in Excel.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [tuple(row) for row in csv.reader(fh)]
    if suffix not in (".xlsx", ".xlsm"):
        raise ManifestError(f"{path}: annotation must be .xlsx, .xlsm or .csv")
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except Exception as err:  # openpyxl raises several unrelated types for a damaged file
        raise ManifestError(f"{path}: cannot open the workbook: {err}") from err
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ManifestError(
                f"{path}: no worksheet named {sheet!r}; the workbook has {workbook.sheetnames}"
            )
        chosen = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        return [tuple(row) for row in chosen.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _norm(text: Any) -> str:
    return " ".join(str(text).split()).lower() if text is not None else ""


@dataclass(frozen=True)
class Header:
    """Where the header row is (0-based index into the table) and the column of each field."""

    row_index: int
    columns: dict[str, int]


def find_header(
    table: list[tuple[Any, ...]],
    columns: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    *,
    search_rows: int,
    source: Path,
) -> Header:
    """Find the first row, among the first ``search_rows``, that holds every required column.

    Each field has tolerated alternative names (compared case- and whitespace-insensitively).
    Raises :class:`ManifestError` listing the expected and the found column names otherwise.
    """
    best: tuple[int, int, list[str]] = (-1, -1, [])
    for index, row in enumerate(table[:search_rows]):
        cells = [_norm(c) for c in row]
        found: dict[str, int] = {}
        for fld, names in columns.items():
            for name in names:
                if _norm(name) in cells:
                    found[fld] = cells.index(_norm(name))
                    break
        if all(f in found for f in required):
            return Header(index, found)
        score = sum(f in found for f in required)
        if score > best[0]:
            best = (score, index, [str(c).strip() for c in row if c is not None and str(c).strip()])
    expected = ", ".join(" | ".join(columns[f]) for f in required)
    if best[1] < 0:
        raise ManifestError(f"{source}: the sheet is empty; expected columns: {expected}")
    missing = [
        " | ".join(columns[f])
        for f in required
        if not any(_norm(n) in (_norm(x) for x in best[2]) for n in columns[f])
    ]
    raise ManifestError(
        f"{source}: no header row with the expected columns in the first {search_rows} rows. "
        f"Expected: {expected}. "
        f"Closest is row {best[1] + 1}, which has: {', '.join(best[2]) or '(nothing)'}. "
        f"Missing: {', '.join(missing)}"
    )


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (``0`` -> ``"A"``, ``27`` -> ``"AB"``)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def headerless(
    table: list[tuple[Any, ...]], positions: dict[str, int], numeric: tuple[str, ...], *, source: Path
) -> Header:
    """Columns of a sheet without a header row, at fixed ``positions`` (0-based).

    The first non-blank row is taken as a header row some copy added (``row_index`` is its index)
    when none of its ``numeric`` cells is a whole number; otherwise ``row_index`` is -1 (data from row
    1; a data row with one bad cell stays a data row and is reported). Raises :class:`ManifestError`
    when no row has whole numbers in the ``numeric`` columns.
    """

    def count(row: tuple[Any, ...]) -> int:
        good = 0
        for fld in numeric:
            try:
                parse_int(row[positions[fld]] if positions[fld] < len(row) else None)
            except ValueError:
                continue
            good += 1
        return good

    rows = [row for row in table if not all(map(is_blank, row))]
    if not any(count(row) == len(numeric) for row in rows):
        wanted = ", ".join(f"{fld} in column {column_letter(positions[fld])}" for fld in numeric)
        raise ManifestError(f"{source}: no row holds whole numbers where the spec expects them ({wanted})")
    first = next(i for i, row in enumerate(table) if not all(map(is_blank, row)))
    return Header(first if count(table[first]) == 0 else -1, dict(positions))


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_int(value: Any) -> int:
    """An integral cell (``12``, ``12.0``, ``" 12 "``) as int; ``ValueError`` otherwise."""
    if value is None or isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(value)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(\.0*)?", text):
        return int(float(text))
    raise ValueError(value)


def parse_apex(value: Any) -> int:
    """An apex cell: ``/``, empty or -1 mean unknown (-1); other non-integers raise ``ValueError``."""
    if value is None or _norm(value) in MISSING_APEX:
        return -1
    number = parse_int(value)
    return -1 if number < 0 else number


def subject_id(value: Any, template: str) -> str:
    """Subject cell -> id: integers (or digit strings) through ``template``, other text as is."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return template.format(number=int(value))
    return str(value).strip()


def parse_action_units(text: Any) -> tuple[str, ...]:
    """AU codes in order of appearance, side and intensity stripped: ``"AU4 + R12C"`` -> ``(AU4, AU12)``.

    Alternatives (``"4 or 7"``) keep both codes; the raw text is kept separately as ``au_text``.
    """
    if is_blank(text):
        return ()
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    codes: list[str] = []
    for match in _AU_RE.finditer(str(text)):
        code = f"AU{int(match.group(1))}"
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def cell_text(value: Any) -> str:
    """A cell as display text (``12.0`` -> ``"12"``, ``None`` -> ``""``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
