"""Code tables on other worksheets of the annotation workbook (``[lookups.NAME]`` of a spec).

CAS(ME)^2 names its subjects and videos through two such tables: ``naming rule1`` (the sheet's
subject number 1-22 -> the folder ``s15`` and the code ``15`` that starts its video folders) and
``naming rule2`` (the clip-name prefix ``disgust1`` -> the 4-digit video code ``0101``). A row whose
key is not in a table is a problem naming the table, the key and the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import Lookup
from .records import ManifestError
from .sheets import cell_text, column_letter, is_blank, read_table


@dataclass(frozen=True)
class Table:
    """One lookup read from the workbook: key -> template fields."""

    lookup: Lookup
    source: str
    rows: dict[str, dict[str, str]]

    def fields(self, values: dict[str, Any]) -> tuple[dict[str, str], str]:
        """``(fields, "")`` for one sheet row's ``values`` (by field), or ``({}, problem)``."""
        text = cell_text(values.get(self.lookup.key_field))
        key = text
        if self.lookup.key_regex:
            match = re.fullmatch(self.lookup.key_regex, text)
            if match is None:
                return {}, (
                    f"{self.lookup.key_field} {text!r} does not match {self.lookup.key_regex!r} "
                    f"(the key into {self.source})"
                )
            key = match.group(1) if match.groups() else match.group(0)
        if key not in self.rows:
            shown = ", ".join(list(self.rows)[:30])
            return {}, f"{self.lookup.key_field} key {key!r} is not in {self.source} (it has: {shown})"
        return self.rows[key], ""


def _value(cell: Any, int_format: str) -> str:
    if (
        int_format
        and isinstance(cell, (int, float))
        and not isinstance(cell, bool)
        and float(cell).is_integer()
    ):
        return int_format.format(int(cell))
    return cell_text(cell)


def read_lookups(path: Path, lookups: tuple[Lookup, ...]) -> list[Table]:
    """Every lookup table of ``path``; a key written twice with different values is an error."""
    if lookups and path.suffix.lower() == ".csv":
        sheets = ", ".join(repr(lookup.sheet) for lookup in lookups)
        raise ManifestError(f"{path}: this dataset's names come from the worksheets {sheets}: give the .xlsx")
    tables = []
    for lookup in lookups:
        source = f"{path.name} worksheet {lookup.sheet!r} (key column {column_letter(lookup.key_column)})"
        rows: dict[str, dict[str, str]] = {}
        first: dict[str, int] = {}
        for number, row in enumerate(read_table(path, lookup.sheet), start=1):
            cell = row[lookup.key_column] if lookup.key_column < len(row) else None
            if is_blank(cell):
                continue
            key = cell_text(cell)
            fields = {
                name: _value(row[col] if col < len(row) else None, fmt)
                for name, (col, fmt) in lookup.values.items()
            }
            if key in rows and rows[key] != fields:
                raise ManifestError(
                    f"{source}: key {key!r} is on row {first[key]} and row {number} with different values"
                )
            rows.setdefault(key, fields)
            first.setdefault(key, number)
        if not rows:
            raise ManifestError(f"{source}: the table is empty")
        tables.append(Table(lookup, source, rows))
    return tables
