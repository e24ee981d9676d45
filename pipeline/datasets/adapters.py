"""Adapters: a spec + a dataset tree -> validated :class:`Manifest` rows.

Two generic readers, chosen by the spec's ``kind``: :func:`read_sheet_dataset` (one annotation
row per clip) and :func:`read_folder_dataset` (labels from the folder layout). Both collect every
row-level problem as an :class:`Excluded` entry of kind ``"invalid"``; :func:`load_manifest`
turns them into one :class:`ManifestError` when ``strict``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .exclusions import check_duplicate_label
from .frames import compact_ranges, contiguous_run, duplicate_numbers, escapes, list_frames, unsafe_reason
from .locate import base_root, find_annotation, find_clip_dir, read_sheet
from .lookups import Table, read_lookups
from .paths import Folders, find_clip
from .records import ClipRecord, Excluded, Manifest, ManifestError
from .rows import apply_corrections, frame_numbers, known_error
from .sheets import Header, cell_text, column_letter, is_blank, parse_action_units, subject_id
from .spans import cut_span
from .spec import EMOTIONS, DatasetSpec, Grouping, load_spec, normalise_label


@dataclass
class _Reading:
    """What one dataset reader found, before strictness and composite prefixes are applied."""

    root: Path
    rows: list[ClipRecord] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class _ClipCheck:
    """Frames of one clip folder, or the problems that stop it being used."""

    frames: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    problems: list[str] = field(default_factory=list)


def _check_clip(base: Path, clips: Path, rel: str, spec: DatasetSpec, prefix: str) -> _ClipCheck:
    """Resolve ``clips/rel``, refuse escapes and empty folders, list the frame set's frames."""
    check = _ClipCheck()
    reason = unsafe_reason(rel)
    if reason:
        check.problems.append(reason)
        return check
    folder = clips / rel
    shown = folder.as_posix()
    if not folder.is_dir():
        check.problems.append(f"clip folder not found: {shown}")
        return check
    if escapes(folder, base):
        check.problems.append(f"clip folder {shown} is a symlink that points outside the dataset root {base}")
        return check
    listed = list_frames(folder, spec.frame_regex, prefix)
    if not listed:
        check.problems.append(
            f"empty clip folder: {shown} has no frame files matching {prefix!r} + /{spec.frame_regex}/"
        )
        return check
    outside = [name for _, name in listed if escapes(folder / name, base)]
    if outside:
        check.problems.append(
            f"frame files in {shown} are symlinks outside the dataset root: {', '.join(outside)}"
        )
        return check
    twice = duplicate_numbers(listed)
    if twice:
        listing = "; ".join(f"{n}: {', '.join(names)}" for n, names in sorted(twice.items()))
        check.problems.append(
            f"frame numbers carried by several files in {shown} ({listing}): remove or rename the extra files"
        )
        return check
    rel_dir = folder.relative_to(base).as_posix()
    check.frames = tuple(f"{rel_dir}/{name}" for _, name in listed)
    check.numbers = tuple(n for n, _ in listed)
    return check


def _strays(check: _ClipCheck, shown: str, span: tuple[int, int] | None) -> None:
    """Frames cut off from the clip's contiguous run (holding ``span``) by a gap: a problem naming them."""
    if check.problems or not check.numbers:
        return
    first, last = contiguous_run(list(check.numbers), span)
    stray = [f.rsplit("/", 1)[-1] for f, n in zip(check.frames, check.numbers) if not first <= n <= last]
    if stray:
        check.problems.append(
            f"frame files in {shown} lie outside the clip's contiguous frames {first}..{last}: "
            f"{', '.join(stray)} (stray or misnumbered: remove or rename them)"
        )


def _column_names(table: list[tuple[Any, ...]], header: Header) -> dict[str, str]:
    """How messages name each field's column: its header text, or its letter in a headerless sheet."""
    if header.row_index < 0:
        return {fld: column_letter(col) for fld, col in header.columns.items()}
    row = table[header.row_index]
    return {
        fld: str(row[col]).strip() if col < len(row) else column_letter(col)
        for fld, col in header.columns.items()
    }


@dataclass
class _Sheet:
    """An annotation sheet, read, and how its rows are looked at.

    Attributes:
        spec: the dataset spec; path: the sheet file; prefix: the frame set's file prefix.
        header: the fields' columns; names: how messages name each field's column.
        body: ``(Excel row number, row cells)`` of every non-blank row below the header.
        lookups: the spec's code tables read from the workbook.
        folders: folder listings cached across every clip search (layout fitting and rows).
    """

    spec: DatasetSpec
    path: Path
    prefix: str
    header: Header
    names: dict[str, str]
    body: list[tuple[int, tuple[Any, ...]]]
    lookups: list[Table]
    folders: Folders = field(default_factory=Folders)

    @property
    def templates(self) -> tuple[str, ...]:
        """The layouts a clip folder may follow, the preferred first."""
        return self.spec.clip_templates or (self.spec.clip_template,)

    def cell(self, row: tuple[Any, ...], fld: str) -> Any:
        """The row's cell of field ``fld`` (None: no such column, or a short row)."""
        col = self.header.columns.get(fld)
        return row[col] if col is not None and col < len(row) else None

    def values(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """``{field: cell}`` of every column the header names."""
        return {fld: self.cell(row, fld) for fld in self.header.columns}

    def template_fields(self, row: tuple[Any, ...]) -> tuple[dict[str, Any], list[str]]:
        """What a layout template may name: subject, filename, onset (as written), emotion, lookups.

        Returns the fields and the lookups' problems.
        """
        values = self.values(row)
        fields: dict[str, Any] = {
            "filename": cell_text(values.get("filename")),
            "onset": cell_text(values.get("onset")),
            "emotion": cell_text(values.get("emotion")),
        }
        problems = []
        for lookup in self.lookups:
            found, problem = lookup.fields(values)
            fields.update(found)
            if problem:
                problems.append(problem)
        if "subject" not in fields:
            fields["subject"] = subject_id(values.get("subject"), self.spec.subject_template)
        return fields, problems

    def find(self, folder: Path, template: str, fields: dict[str, Any]) -> tuple[str | None, str]:
        """The clip folder (relative to ``folder``) that ``template`` filled with ``fields`` names, or
        None and why not."""
        options = self.spec.options
        return find_clip(
            folder,
            template,
            fields,
            self.folders,
            case_insensitive=options.case_insensitive_paths,
            aliases=options.path_aliases,
        )

    def fits(self, folder: Path) -> str | None:
        """The first layout under which some row's clip folder in ``folder`` holds frames, or None."""
        for template in self.templates:
            for _, row in self.body:
                if is_blank(self.cell(row, "subject")) or is_blank(self.cell(row, "filename")):
                    continue
                fields, problems = self.template_fields(row)
                rel = None if problems else self.find(folder, template, fields)[0]
                if rel is not None and list_frames(folder / rel, self.spec.frame_regex, self.prefix):
                    return template
        return None


@dataclass
class _Layout:
    """Where the clip folders are: ``clip_dir`` under the dataset root ``base``, named by ``template``."""

    clip_dir: Path
    template: str
    base: Path


@dataclass
class _Seen:
    """What earlier rows left for later ones.

    Attributes:
        rows: sample id -> Excel row that first named it.
        labels: sample id -> (first row, its emotion).
        checks: clip folder -> its frames (several rows may cut clips out of one recording).
    """

    rows: dict[str, int] = field(default_factory=dict)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    checks: dict[str, _ClipCheck] = field(default_factory=dict)


@dataclass
class _Row:
    """One annotation row as read and checked.

    Attributes:
        where: ``"<sheet> row <n>"``; excel_row: its number; label: ``"<where> (<sample_id>)"``.
        values: ``{field: cell}`` (after the spec's corrections); fields: what the layout templates name.
        subject, filename, sample_id: the clip's identity.
        problems: what stops the row being used.
        numbers: (onset, apex, offset) frame numbers; emotion: as written; klass: (label, class name)
            or None (a compound or unknown emotion, or one the grouping drops).
    """

    where: str
    excel_row: int
    values: dict[str, Any]
    fields: dict[str, Any]
    subject: str
    filename: str
    sample_id: str
    problems: list[str]
    label: str = ""
    numbers: tuple[int, int, int] | None = None
    emotion: str = ""
    klass: tuple[int, str] | None = None


@dataclass
class _Frames:
    """A row's clip on disk: folder ``rel`` (under the clip dir), its frames and the row's frame numbers."""

    rel: str
    frames: tuple[str, ...]
    numbers: tuple[int, ...]
    onset: int
    apex: int
    offset: int


def _open_sheet(spec: DatasetSpec, root: Path, frame_set: str, annotation: Path | None) -> _Sheet:
    """Find and read the annotation sheet, its lookups and its non-blank rows below the header.

    Raises:
        ManifestError: no rows below the header (and the errors of finding or reading the sheet).
    """
    prefix = spec.frame_set(frame_set).prefix
    path = find_annotation(spec, root, annotation)
    table, header = read_sheet(spec, path)
    names = _column_names(table, header)
    lookups = read_lookups(path, spec.options.lookups)
    body = [
        (i + 1, row) for i, row in enumerate(table) if i > header.row_index and not all(map(is_blank, row))
    ]
    if not body:
        raise ManifestError(
            f"{path}: the sheet has no rows below its header (row {header.row_index + 1}): no clips to read"
        )
    return _Sheet(spec, path, prefix, header, names, body, lookups)


def _sheet_reading(sheet: _Sheet, layout: _Layout, frame_set: str) -> _Reading:
    """An empty :class:`_Reading` with the sources the sheet and the clip layout came from."""
    return _Reading(
        root=layout.base,
        sources={
            "annotation": str(sheet.path),
            "header_row": str(sheet.header.row_index + 1) if sheet.header.row_index >= 0 else "none",
            "clips": str(layout.clip_dir),
            "layout": layout.template,
            "frame_set": frame_set,
        },
    )


def _sample_id(spec: DatasetSpec, fields: dict[str, Any]) -> str:
    """The spec's ``sample_template`` filled with a row's fields; a ManifestError if it cannot be."""
    try:
        return spec.options.sample_template.format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise ManifestError(f"{spec.path}: sample_template cannot be filled: {err!r}") from None


def _read_row(sheet: _Sheet, reading: _Reading, excel_row: int, row: tuple[Any, ...]) -> _Row | None:
    """A row's identity (subject, filename, sample id) and its first problems.

    None when the row is left out: subject or filename empty (``"invalid"``), or a kind the spec's
    ``keep`` option skips (``"filter"``); the reason is added to ``reading.excluded``.
    """
    where = f"{sheet.path.name} row {excel_row}"
    problems: list[str] = []
    for fld in ("subject", "filename"):
        if is_blank(sheet.cell(row, fld)):
            problems.append(f"{where}, column {sheet.names[fld]!r}: empty")
    if problems:
        reading.excluded.append(Excluded(where, "", "; ".join(problems)))
        return None
    values = sheet.values(row)
    fields, problems = sheet.template_fields(row)
    problems = [f"{where}: {p}" for p in problems]
    sample_id = _sample_id(sheet.spec, fields)
    keep = sheet.spec.options.keep
    if keep is not None:
        kind = normalise_label(cell_text(values.get(keep.field)))
        if kind in keep.skip:
            reason = f"{keep.field} {kind!r}: {keep.reason or 'not read'}"
            reading.excluded.append(Excluded(where, sample_id, reason, "filter"))
            return None
        if kind not in keep.values:
            problems.append(
                f"{where}, column {sheet.names.get(keep.field, keep.field)!r}: {keep.field} {kind!r} is "
                f"neither read {list(keep.values)} nor skipped {list(keep.skip)}"
            )
    subject, filename = str(fields["subject"]), fields["filename"]
    return _Row(where, excel_row, values, fields, subject, filename, sample_id, problems)


def _correct_row(sheet: _Sheet, reading: _Reading, row: _Row) -> bool:
    """Apply the spec's corrections, leave out a known error, read the frame numbers; False if left out.

    Corrections made are added to ``reading.corrections``; a known error to ``reading.excluded``.
    """
    spec, names, where = sheet.spec, sheet.names, row.where
    row.label = f"{where} ({row.sample_id})"
    apply_corrections(
        spec.corrections, row.subject, row.filename, row.excel_row, row.values, row.label, reading.corrections
    )
    known = known_error(spec, row.excel_row, row.values, names, where, reading.corrections, row.label)
    if known:
        reading.excluded.append(Excluded(where, row.sample_id, known, "known-error"))
        return False
    row.numbers = frame_numbers(spec, row.values, names, where, row.problems, reading.corrections, row.label)
    return True


def _classify_row(sheet: _Sheet, grouping: Grouping, reading: _Reading, seen: _Seen, row: _Row) -> bool:
    """Check the row's emotion, sample id and filename; False (the reason in ``reading.excluded``) if
    the row has problems, several labels, or a label the grouping drops.

    Raises:
        ManifestError: an earlier row of the same clip has another label.
    """
    options, names, where, sample_id = sheet.spec.options, sheet.names, row.where, row.sample_id
    problems = row.problems
    row.emotion = emotion = cell_text(row.values["emotion"])
    check_duplicate_label(seen.labels, sample_id, emotion, where)
    compound = options.multi_label is not None and options.multi_label[0] in emotion
    if not compound:
        row.klass = _classify(grouping, emotion, problems, f"{where}, column {names['emotion']!r}")
    if sample_id in seen.rows:
        problems.append(f"{where}: duplicate sample id {sample_id!r} (first at row {seen.rows[sample_id]})")
    else:
        seen.rows[sample_id] = row.excel_row
    reason = unsafe_reason(row.filename) or unsafe_reason(sample_id)
    if reason:
        problems.append(f"{where}, column {names['filename']!r}: {reason}")
    if not problems and compound:
        rule = (
            f"multi-label emotion {emotion!r}: rows with several labels are left out (single-label classes)"
        )
        reading.excluded.append(Excluded(where, sample_id, rule, "multi-label"))
        return False
    return not _exclude(reading, where, sample_id, problems, row.klass, emotion, grouping)


def _row_frames(
    sheet: _Sheet, reading: _Reading, check: _ClipCheck, shown: str, row: _Row
) -> tuple[_ClipCheck, tuple[int, int, int]]:
    """The row's frames of its clip folder: the span the spec's ``clip_frames`` cuts, or every frame
    once the annotated onset..offset is checked to be on disk without strays.

    Returns the frames (their ``problems`` say what stops the row) and (onset, apex, offset).
    """
    onset, apex, offset = row.numbers
    frames = _ClipCheck(check.frames, check.numbers, list(check.problems))
    clip_frames = sheet.spec.options.clip_frames
    if not frames.problems and clip_frames.select == "span":
        span = cut_span(check.frames, check.numbers, onset, apex, offset, clip_frames, shown)
        reading.corrections += [f"{row.label}: {note}" for note in span.notes]
        frames = _ClipCheck(span.frames, span.numbers, frames.problems + span.problems)
        return frames, (span.onset, span.apex, span.offset)
    if not frames.problems:
        missing = sorted(set(range(onset, offset + 1)) - set(check.numbers))
        if missing:
            frames.problems.append(
                f"frames missing on disk in {shown}: {compact_ranges(missing)} "
                f"(annotated onset..offset {onset}..{offset}, found "
                f"{check.numbers[0]}..{check.numbers[-1]})"
            )
        _strays(frames, shown, (onset, offset))
    return frames, (onset, apex, offset)


def _locate_frames(
    sheet: _Sheet, reading: _Reading, seen: _Seen, layout: _Layout, row: _Row
) -> _Frames | None:
    """Find the row's clip folder and its frames; None (the reason in ``reading.excluded``) if the
    folder is not found or its frames do not fit the row."""
    rel, problem = sheet.find(layout.clip_dir, layout.template, row.fields)
    if rel is None:
        reading.excluded.append(Excluded(row.where, row.sample_id, f"{row.where}: {problem}"))
        return None
    if rel not in seen.checks:
        seen.checks[rel] = _check_clip(layout.base, layout.clip_dir, rel, sheet.spec, sheet.prefix)
    shown = (layout.clip_dir / rel).as_posix()
    frames, (onset, apex, offset) = _row_frames(sheet, reading, seen.checks[rel], shown, row)
    if frames.problems:
        reason = f"{row.where}: " + "; ".join(frames.problems)
        reading.excluded.append(Excluded(row.where, row.sample_id, reason))
        return None
    return _Frames(rel, frames.frames, frames.numbers, onset, apex, offset)


def _sheet_record(spec: DatasetSpec, layout: _Layout, row: _Row, frames: _Frames) -> ClipRecord:
    """The manifest record of a usable row."""
    au_raw = row.values.get("action_units")
    return ClipRecord(
        sample_id=row.sample_id,
        dataset=spec.name,
        subject=row.subject,
        clip=(layout.clip_dir / frames.rel).relative_to(layout.base).as_posix(),
        frames=frames.frames,
        frame_numbers=frames.numbers,
        onset=frames.onset,
        apex=frames.apex,
        offset=frames.offset,
        fps=spec.fps,
        emotion=row.emotion,
        label=row.klass[0],
        label_name=row.klass[1],
        action_units=parse_action_units(au_raw),
        au_text=cell_text(au_raw),
    )


def read_sheet_dataset(
    spec: DatasetSpec,
    root: Path,
    grouping: Grouping,
    *,
    frame_set: str = "full",
    annotation: Path | None = None,
    clips: Path | None = None,
) -> _Reading:
    """Read a ``kind = "sheet"`` dataset: one validated record per usable annotation row.

    The spec's options (:mod:`.options`) choose the worksheet, a headerless layout, rows to keep,
    code tables, the sample id, alternative layouts and how a row's frames are cut (:mod:`.spans`).
    """
    sheet = _open_sheet(spec, root, frame_set, annotation)
    clip_dir, template = find_clip_dir(spec, root, frame_set, clips, sheet.fits)
    layout = _Layout(clip_dir, template or sheet.templates[0], base_root(root, clip_dir))
    reading = _sheet_reading(sheet, layout, frame_set)
    seen = _Seen()
    for excel_row, cells in sheet.body:
        row = _read_row(sheet, reading, excel_row, cells)
        if row is None or not _correct_row(sheet, reading, row):
            continue
        if not _classify_row(sheet, grouping, reading, seen, row):
            continue
        frames = _locate_frames(sheet, reading, seen, layout, row)
        if frames is not None:
            reading.rows.append(_sheet_record(spec, layout, row, frames))
    return reading


def _classify(
    grouping, emotion: str, problems: list[str], where: str, source: str = ""
) -> tuple[int, str] | None:
    """``(label, class name)`` of ``emotion``, or None; an unknown label is added to ``problems``."""
    try:
        return grouping.classify(emotion)
    except KeyError:
        problems.append(
            f"{where}: unknown emotion label {emotion!r}{source} "
            f"(grouping {grouping.name!r} knows {grouping.known_labels()})"
        )
        return None


def _exclude(reading, where: str, sample_id: str, problems: list[str], klass, emotion: str, grouping) -> bool:
    """Record why a row is left out (its problems, or a label the grouping drops); True if it is."""
    if problems:
        reading.excluded.append(Excluded(where, sample_id, "; ".join(problems)))
        return True
    if klass is None:
        reason = f"emotion {emotion!r} is not used by grouping {grouping.name!r}"
        reading.excluded.append(Excluded(where, sample_id, reason, "grouping"))
        return True
    return False


def _walk(folder: Path, segments: list[str], spec: DatasetSpec, found: dict[str, str]):
    """Yield ``(fields, folder)`` for every folder matching the layout template's segments."""
    if not segments:
        yield dict(found), folder
        return
    head, rest = segments[0], segments[1:]
    match = re.fullmatch(r"\{(\w+)\}", head)
    if match is None:
        if (folder / head).is_dir():
            yield from _walk(folder / head, rest, spec, found)
        return
    name = match.group(1)
    wanted = re.compile(spec.subject_regex) if name == "subject" else None
    with os.scandir(folder) as entries:
        subdirs = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    for sub in subdirs:
        if wanted is None or wanted.fullmatch(sub):
            yield from _walk(folder / sub, rest, spec, {**found, name: sub})


def read_folder_dataset(
    spec: DatasetSpec,
    root: Path,
    grouping: Grouping,
    *,
    frame_set: str = "full",
    annotation: Path | None = None,
    clips: Path | None = None,
) -> _Reading:
    """Read a ``kind = "folders"`` dataset: labels from the folder names, onset/offset from the frames."""
    if annotation is not None:
        raise ManifestError(
            f"{spec.name}: has no annotation sheet (labels come from folder names); drop --annotation"
        )
    prefix = spec.frame_set(frame_set).prefix
    segments = spec.clip_template.split("/")
    head = re.compile(spec.subject_regex)

    def fits(folder: Path) -> bool:
        with os.scandir(folder) as entries:
            subjects = [e.name for e in entries if e.is_dir() and head.fullmatch(e.name)]
        return any(
            list_frames(path, spec.frame_regex, prefix)
            for subj in subjects
            for _, path in _walk(folder / subj, segments[1:], spec, {})
        )

    clip_dir, _ = find_clip_dir(spec, root, frame_set, clips, fits)
    base = base_root(root, clip_dir)
    reading = _Reading(
        root=base, sources={"annotation": "(folder names)", "clips": str(clip_dir), "frame_set": frame_set}
    )
    seen: dict[str, str] = {}
    for values, folder in _walk(clip_dir, segments, spec, {}):
        rel = folder.relative_to(clip_dir).as_posix()
        where = (clip_dir / rel).as_posix()
        sample_id = f"{values['subject']}/{values['clip']}"
        emotion = values["emotion"]
        problems: list[str] = []
        klass = _classify(grouping, emotion, problems, where, " in the folder name")
        if sample_id in seen:
            problems.append(f"{where}: duplicate sample id {sample_id!r} (also {seen[sample_id]})")
        else:
            seen[sample_id] = where
        check = _check_clip(base, clip_dir, rel, spec, prefix)
        _strays(check, where, None)
        problems.extend(check.problems)
        if _exclude(reading, where, sample_id, problems, klass, emotion, grouping):
            continue
        reading.rows.append(
            ClipRecord(
                sample_id=sample_id,
                dataset=spec.name,
                subject=values["subject"],
                clip=folder.relative_to(base).as_posix(),
                frames=check.frames,
                frame_numbers=check.numbers,
                onset=check.numbers[0],
                apex=-1,
                offset=check.numbers[-1],
                fps=spec.fps,
                emotion=emotion,
                label=klass[0],
                label_name=klass[1],
                action_units=(),
                au_text="",
            )
        )
    return reading


READERS = {"sheet": read_sheet_dataset, "folders": read_folder_dataset}


def _part_roots(spec: DatasetSpec, root: Path | None, roots: dict[str, Path] | None) -> dict[str, Path]:
    """Each composite part's dataset root: from ``roots``, else the one matching folder under ``root``."""
    out: dict[str, Path] = {}
    for part, dirs in spec.parts.items():
        if roots and part in roots:
            out[part] = Path(roots[part])
            if not out[part].is_dir():
                raise ManifestError(f"{spec.name}: root for {part!r} is not a folder: {out[part]}")
            continue
        if root is None:
            raise ManifestError(
                f"{spec.name}: no root for {part!r}; pass root=... or roots={{{part!r}: ...}}"
            )
        found = []
        with os.scandir(root) as entries:
            names = {e.name.lower(): e.name for e in entries if e.is_dir()}
        for d in dirs:
            if d.lower() in names and root / names[d.lower()] not in found:
                found.append(root / names[d.lower()])
        if not found:
            raise ManifestError(
                f"{spec.name}: no folder for {part!r} under {root} (looked for {list(dirs)}); "
                f"pass a per-dataset root (--part-root {part}=PATH)"
            )
        if len(found) > 1:
            raise ManifestError(
                f"{spec.name}: several folders for {part!r} under {root}: {[str(f) for f in found]}; "
                f"pass --part-root {part}=PATH"
            )
        out[part] = found[0]
    unknown = set(roots or {}) - set(spec.parts)
    if unknown:
        raise ManifestError(
            f"{spec.name}: roots for unknown parts {sorted(unknown)}; parts: {sorted(spec.parts)}"
        )
    return out


def _under(folder: str, rel: str) -> str:
    """``rel`` prefixed with the posix ``folder`` (unless it is ``"."``)."""
    return rel if folder == "." else f"{folder}/{rel}"


def _read_composite(
    spec: DatasetSpec, root: Path | None, roots: dict[str, Path] | None, grouping: Grouping, frame_set: str
) -> _Reading:
    part_roots = _part_roots(spec, root, roots)
    readings: dict[str, _Reading] = {}
    for name, part_root in part_roots.items():
        sub = load_spec(name)
        if grouping.name == EMOTIONS:
            sub_grouping = spec.emotion_grouping(part=name)
        else:
            sub_grouping = spec.part_groupings.get(grouping.name, {}).get(name)
        if sub_grouping is None:
            raise ManifestError(f"{spec.path}: grouping {grouping.name!r} has no mapping for part {name!r}")
        readings[name] = READERS[sub.kind](sub, part_root, sub_grouping, frame_set=frame_set)
    paths = [p.root.resolve() for p in readings.values()]
    base = Path(os.path.commonpath(paths))
    if root is not None and all(p.is_relative_to(root.resolve()) for p in paths):
        base = root
    out = _Reading(root=base)
    excludes = {(e["dataset"], f"{e['subject']}/{e['filename']}"): e.get("reason", "") for e in spec.exclude}
    for name, reading in readings.items():
        shift = reading.root.resolve().relative_to(base.resolve()).as_posix()
        for key, value in reading.sources.items():
            out.sources[f"{name}.{key}"] = value
        out.corrections.extend(f"{name}: {c}" for c in reading.corrections)
        out.excluded.extend(
            replace(e, row=f"{name}: {e.row}", sample_id=f"{name}/{e.sample_id}") for e in reading.excluded
        )
        for rec in reading.rows:
            sid = f"{name}/{rec.sample_id}"
            if (name, rec.sample_id) in excludes:
                out.excluded.append(
                    Excluded(f"{name}: {rec.clip}", sid, excludes[name, rec.sample_id], "protocol")
                )
                continue
            out.rows.append(
                replace(
                    rec,
                    sample_id=sid,
                    label=grouping.classes.index(rec.label_name),  # the part's grouping may list fewer
                    subject=f"{name}-{rec.subject}",
                    clip=_under(shift, rec.clip),
                    frames=tuple(_under(shift, f) for f in rec.frames),
                )
            )
    return out


def load_manifest(
    dataset: str | os.PathLike,
    root: str | os.PathLike | None = None,
    *,
    grouping: str | None = None,
    frame_set: str = "full",
    strict: bool = False,
    annotation: str | os.PathLike | None = None,
    clips: str | os.PathLike | None = None,
    roots: dict[str, str | os.PathLike] | None = None,
) -> Manifest:
    """Read a dataset tree into a validated :class:`Manifest`.

    Args:
        dataset: a dataset name (see :func:`list_datasets`) or the path of a spec ``.toml`` file.
        root: the dataset's top folder as unpacked (a composite: the folder holding its datasets).
        grouping: class grouping name (see :func:`list_groupings`); the spec's default when None.
        frame_set: the release's ``"full"`` frames or its ``"cropped"`` (registered, ``reg_``) frames.
        strict: raise :class:`ManifestError` listing every row-level problem instead of excluding rows.
        annotation: the annotation sheet, overriding the search under ``root``.
        clips: the folder holding the clip folders, overriding the search under ``root``.
        roots: composite only, per-dataset roots (``{"casme2": ..., "samm": ..., "smic": ...}``);
            parts not named here are looked for under ``root``.
    """
    spec = load_spec(dataset)
    group = spec.grouping(grouping)
    if spec.kind != "composite":
        spec.frame_set(frame_set)
    root_path = Path(root) if root is not None else None
    if root_path is not None and not root_path.is_dir():
        raise ManifestError(f"{spec.name}: dataset root is not a folder: {root_path}")
    if spec.kind == "composite":
        if annotation is not None or clips is not None:
            raise ManifestError(f"{spec.name}: annotation/clips overrides need a single dataset; use roots=")
        reading = _read_composite(
            spec, root_path, {k: Path(v) for k, v in (roots or {}).items()}, group, frame_set
        )
    else:
        if root_path is None:
            raise ManifestError(f"{spec.name}: root is required")
        if roots:
            raise ManifestError(f"{spec.name}: roots= is only for composite datasets")
        reading = READERS[spec.kind](
            spec,
            root_path,
            group,
            frame_set=frame_set,
            annotation=Path(annotation) if annotation is not None else None,
            clips=Path(clips) if clips is not None else None,
        )
    invalid = [e for e in reading.excluded if e.kind == "invalid"]
    if strict and invalid:
        listing = "\n  ".join(e.reason for e in invalid)
        raise ManifestError(f"{spec.name}: {len(invalid)} row(s) failed validation (strict):\n  {listing}")
    return Manifest(
        dataset=spec.name,
        root=reading.root,
        grouping=group.name,
        classes=group.classes,
        rows=reading.rows,
        excluded=reading.excluded,
        corrections=reading.corrections,
        sources=reading.sources,
    )
