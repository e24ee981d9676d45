"""One annotation row's values: known corrections, known errors, frame numbers and missing values."""

from __future__ import annotations

from typing import Any

from .records import ManifestError
from .sheets import cell_text, parse_apex, parse_int
from .spec import Correction, DatasetSpec


def apply_corrections(
    corrections: tuple[Correction, ...],
    subject: str,
    filename: str,
    sheet_row: int,
    values: dict[str, Any],
    where: str,
    log: list[str],
) -> None:
    """Apply the spec's known corrections to one row's values, logging each (applied or not) under
    ``where`` (the row and its sample id)."""
    for fix in corrections:
        if not fix.names(subject, filename, sheet_row):
            continue
        current = values.get(fix.column)
        if cell_text(current) == cell_text(fix.old):
            values[fix.column] = fix.new
            log.append(f"{where}: {fix.column} {fix.old!r} -> {fix.new!r} ({fix.reason})")
        else:
            log.append(
                f"{where}: NOT applied: {fix.column} holds {current!r}, the known "
                f"correction expects {fix.old!r} -> {fix.new!r} ({fix.reason})"
            )


def known_error(
    spec: DatasetSpec,
    sheet_row: int,
    values: dict[str, Any],
    names: dict[str, str],
    where: str,
    log: list[str],
    label: str = "",
) -> str:
    """The reason a row is a known, unfixable sheet error (``[[exclude]]`` with ``sheet_row``), or "".

    An entry whose row no longer holds the known wrong value is logged as not applied.
    """
    for entry in spec.exclude:
        if "sheet_row" not in entry:
            continue
        try:
            row, column, value = int(entry["sheet_row"]), entry["column"], entry["value"]
        except (KeyError, ValueError) as err:
            raise ManifestError(
                f"{spec.path}: [[exclude]] needs sheet_row, column and value: {entry}"
            ) from err
        if row != sheet_row:
            continue
        current = cell_text(values.get(column))
        reason = entry.get("reason", "")
        if current == value:
            return (
                f"{where}, column {names.get(column, column)!r}: {column} {value} is a known sheet error "
                f"with no verified fix ({reason})"
            )
        log.append(
            f"{label or where}: known error NOT found: {column} holds {current!r}, the spec expects {value!r} ({reason})"
        )
    return ""


def frame_numbers(
    spec: DatasetSpec,
    values: dict[str, Any],
    names: dict[str, str],
    where: str,
    problems: list[str],
    log: list[str],
    label: str = "",
) -> tuple[int, int, int] | None:
    """``(onset, apex, offset)`` of one row (apex -1 when unknown or absent), or None with problems.

    Zeros in the spec's ``zero_missing`` fields mean "missing": apex -1, and an offset replaced by the
    apex when ``offset_fallback = "apex"`` (logged under ``label``), else a problem.
    """
    options = spec.options
    numbers: dict[str, int] = {}
    for fld in ("onset", "apex", "offset"):
        if fld not in values:  # a sheet without this column (CAS(ME)^3 part C has no apex)
            numbers[fld] = -1
            continue
        try:
            numbers[fld] = parse_apex(values[fld]) if fld == "apex" else parse_int(values[fld])
        except ValueError:
            problems.append(
                f"{where}, column {names[fld]!r}: {fld} value {values[fld]!r} is not a whole number"
            )
    if len(numbers) < 3:
        return None
    onset, apex, offset = numbers["onset"], numbers["apex"], numbers["offset"]
    if "apex" in options.zero_missing and apex == 0:
        apex = -1
    if "offset" in options.zero_missing and offset == 0:
        if options.offset_fallback == "apex" and apex != -1:
            log.append(
                f"{label or where}: offset 0 (missing in this sheet) -> {apex} (the apex ends the clip)"
            )
            offset = apex
        else:
            problems.append(
                f"{where}, column {names['offset']!r}: offset 0 means missing in this sheet and there is "
                "no apex to end the clip at"
            )
            return None
    if onset > offset:
        problems.append(
            f"{where}, columns {names['onset']!r}/{names['offset']!r}: onset {onset} is after offset {offset}"
        )
    elif apex != -1 and not onset <= apex <= offset:
        problems.append(
            f"{where}, column {names['apex']!r}: apex {apex} is outside onset..offset {onset}..{offset}"
        )
    return onset, apex, offset
