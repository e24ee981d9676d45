"""Spec options of ``kind = "sheet"`` datasets beyond columns and corrections, parsed and checked.

The newer datasets (CAS(ME)^3, MMEW, 4DME, CAS(ME)^2) need what the first four did not: a worksheet
chosen by name, a sheet without a header row, rows to skip by type, zeros meaning "missing",
compound labels, clip folders that hold a whole recording, missing frames inside a clip, folder names
matched case-insensitively or by a glob, and code tables on other worksheets. Each is one optional
table of the spec (see ``data_manifests/*.toml``); a spec without them reads as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import ManifestError

SELECT = ("folder", "span")
MISSING = ("reject", "skip")
NUMBERING = ("sheet", "auto")
MULTI_LABEL = ("skip",)
OFFSET_FALLBACK = ("", "apex")


class OptionError(ManifestError):
    """A spec option is malformed (named with the spec file)."""


def column_index(letter: Any, where: str) -> int:
    """Excel column letters (``"A"``, ``"AB"``) -> 0-based index; ``OptionError`` otherwise."""
    text = str(letter).strip().upper()
    if not re.fullmatch(r"[A-Z]{1,3}", text):
        raise OptionError(f"{where}: expected an Excel column letter such as 'A', got {letter!r}")
    index = 0
    for char in text:
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


@dataclass(frozen=True)
class ClipFrames:
    """Which frames of a clip folder make a sheet row's clip (``[clip_frames]``).

    ``select``: ``"folder"`` (every frame of the folder; frames cut off by a gap are strays) or
    ``"span"`` (the frames numbered onset..offset; the folder may hold the whole recording).
    ``missing``: ``"reject"`` (every number onset..offset must exist) or ``"skip"`` (the clip is the
    frames that exist; the onset, apex and offset move to the nearest existing frame, reported).
    ``min_frames``: fewer existing frames than this in onset..offset is a problem.
    ``numbering``: ``"sheet"`` (file numbers are the sheet's) or ``"auto"`` (also accept a folder
    numbered 1..N when onset..offset spans N frames and none of them exists; rebased, reported).
    """

    select: str = "folder"
    missing: str = "reject"
    min_frames: int = 1
    numbering: str = "sheet"


@dataclass(frozen=True)
class RowFilter:
    """Rows kept by the value of one field (``[annotation.keep]``): ``values`` are read, ``skip`` are
    left out and listed (kind ``"filter"``), anything else is a row problem."""

    field: str
    values: tuple[str, ...]
    skip: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Lookup:
    """A code table on another worksheet (``[lookups.NAME]``), e.g. CAS(ME)^2's naming rules.

    The main sheet's ``key_field`` cell (its first ``key_regex`` group when given) is looked up in
    ``key_column`` of worksheet ``sheet``; ``values`` name the template fields read from the found row
    (field -> (column, format for integer cells)). A value named ``subject`` is the subject id.
    """

    name: str
    sheet: str
    key_column: int
    key_field: str
    key_regex: str = ""
    values: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SheetOptions:
    """Everything optional a sheet dataset's spec may add (defaults read as the older datasets)."""

    sheet: str | None = None
    positions: dict[str, int] = field(default_factory=dict)
    annotation_dirs: tuple[str, ...] = ()
    sample_template: str = "{subject}/{filename}"
    case_insensitive_paths: bool = False
    path_aliases: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    clip_frames: ClipFrames = ClipFrames()
    keep: RowFilter | None = None
    zero_missing: tuple[str, ...] = ()
    offset_fallback: str = ""
    multi_label: tuple[str, str] | None = None  # (separator, rule)
    lookups: tuple[Lookup, ...] = ()

    @property
    def headerless(self) -> bool:
        return bool(self.positions)


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise OptionError(f"{where}: must be one of {list(choices)}, got {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise OptionError(f"{where}: must be a string or a list of strings, got {value!r}")
    return tuple(value)


def _lookup(name: str, table: dict[str, Any], where: str) -> Lookup:
    here = f"{where}: lookups.{name}"
    key = table.get("key")
    if not isinstance(key, dict) or "column" not in key or "field" not in key:
        raise OptionError(f"{here}.key must be a table with 'column' and 'field'")
    values: dict[str, tuple[int, str]] = {}
    for fld, spec in table.get("values", {}).items():
        if isinstance(spec, str):
            spec = {"column": spec}
        values[fld] = (
            column_index(spec.get("column"), f"{here}.values.{fld}"),
            str(spec.get("int_format", "")),
        )
    if not values:
        raise OptionError(f"{here}.values must name at least one field")
    regex = str(key.get("regex", ""))
    try:
        re.compile(regex)
    except re.error as err:
        raise OptionError(f"{here}.key.regex: bad regular expression: {err}") from err
    return Lookup(
        name=name,
        sheet=str(table.get("sheet", "")) or _missing(f"{here}.sheet"),
        key_column=column_index(key["column"], f"{here}.key.column"),
        key_field=str(key["field"]),
        key_regex=regex,
        values=values,
    )


def _missing(what: str) -> str:
    raise OptionError(f"{what} is required")


def parse_sheet_options(toml: dict[str, Any], path: Path, fields: tuple[str, ...]) -> SheetOptions:
    """The optional sheet tables of one spec's TOML (see :class:`SheetOptions`)."""
    where = str(path)
    annotation = toml.get("annotation", {})
    positions = {
        fld: column_index(letter, f"{where}: annotation.positions.{fld}")
        for fld, letter in annotation.get("positions", {}).items()
    }
    unknown = set(positions) - set(fields)
    if unknown:
        raise OptionError(
            f"{where}: annotation.positions has unknown fields {sorted(unknown)}; known: {fields}"
        )
    frames = toml.get("clip_frames", {})
    clip_frames = ClipFrames(
        select=_choice(frames.get("select", "folder"), SELECT, f"{where}: clip_frames.select"),
        missing=_choice(frames.get("missing", "reject"), MISSING, f"{where}: clip_frames.missing"),
        min_frames=int(frames.get("min_frames", 1)),
        numbering=_choice(frames.get("numbering", "sheet"), NUMBERING, f"{where}: clip_frames.numbering"),
    )
    if clip_frames.min_frames < 1:
        raise OptionError(f"{where}: clip_frames.min_frames must be >= 1, got {clip_frames.min_frames}")
    if clip_frames.select == "folder" and (clip_frames.missing, clip_frames.numbering) != ("reject", "sheet"):
        raise OptionError(f"{where}: clip_frames.missing and .numbering need select = 'span'")
    keep = None
    if "keep" in annotation:
        table = annotation["keep"]
        keep = RowFilter(
            field=_choice(table.get("field"), fields, f"{where}: annotation.keep.field"),
            values=tuple(
                v.lower() for v in _strings(table.get("values", []), f"{where}: annotation.keep.values")
            ),
            skip=tuple(v.lower() for v in _strings(table.get("skip", []), f"{where}: annotation.keep.skip")),
            reason=str(table.get("reason", "")),
        )
    multi = annotation.get("multi_label")
    multi_label = None
    if multi is not None:
        multi_label = (
            str(multi.get("separator", "+")),
            _choice(multi.get("rule", "skip"), MULTI_LABEL, f"{where}: annotation.multi_label.rule"),
        )
    aliases = {
        fld: {
            " ".join(str(k).split()).lower(): _strings(v, f"{where}: path_aliases.{fld}.{k}")
            for k, v in table.items()
        }
        for fld, table in toml.get("path_aliases", {}).items()
    }
    zero_missing = _strings(annotation.get("zero_missing", []), f"{where}: annotation.zero_missing")
    bad = set(zero_missing) - {"apex", "offset"}
    if bad:
        raise OptionError(f"{where}: annotation.zero_missing may name apex and offset, not {sorted(bad)}")
    return SheetOptions(
        sheet=str(annotation["sheet"]) if "sheet" in annotation else None,
        positions=positions,
        annotation_dirs=_strings(annotation.get("dirs", []), f"{where}: annotation.dirs"),
        sample_template=str(toml.get("sample_template", "{subject}/{filename}")),
        case_insensitive_paths=bool(toml.get("case_insensitive_paths", False)),
        path_aliases=aliases,
        clip_frames=clip_frames,
        keep=keep,
        zero_missing=zero_missing,
        offset_fallback=_choice(
            annotation.get("offset_fallback", ""), OFFSET_FALLBACK, f"{where}: annotation.offset_fallback"
        ),
        multi_label=multi_label,
        lookups=tuple(_lookup(n, t, where) for n, t in toml.get("lookups", {}).items()),
    )
