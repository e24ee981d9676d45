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
from .lookups import read_lookups
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
    prefix = spec.frame_set(frame_set).prefix
    options = spec.options
    sheet = find_annotation(spec, root, annotation)
    table, header = read_sheet(spec, sheet)
    names = _column_names(table, header)
    tables = read_lookups(sheet, options.lookups)
    templates = spec.clip_templates or (spec.clip_template,)
    folders = Folders()

    def cell(row: tuple[Any, ...], fld: str) -> Any:
        col = header.columns.get(fld)
        return row[col] if col is not None and col < len(row) else None

    body = [
        (i + 1, row) for i, row in enumerate(table) if i > header.row_index and not all(map(is_blank, row))
    ]
    if not body:
        raise ManifestError(
            f"{sheet}: the sheet has no rows below its header (row {header.row_index + 1}): no clips to read"
        )

    def template_fields(row: tuple[Any, ...]) -> tuple[dict[str, Any], list[str]]:
        """What a layout template may name: subject, filename, onset (as written), emotion, lookups."""
        values = {fld: cell(row, fld) for fld in header.columns}
        fields: dict[str, Any] = {
            "filename": cell_text(values.get("filename")),
            "onset": cell_text(values.get("onset")),
            "emotion": cell_text(values.get("emotion")),
        }
        problems = []
        for lookup in tables:
            found, problem = lookup.fields(values)
            fields.update(found)
            if problem:
                problems.append(problem)
        if "subject" not in fields:
            fields["subject"] = subject_id(values.get("subject"), spec.subject_template)
        return fields, problems

    def find(folder: Path, template: str, fields: dict[str, Any]) -> tuple[str | None, str]:
        return find_clip(
            folder,
            template,
            fields,
            folders,
            case_insensitive=options.case_insensitive_paths,
            aliases=options.path_aliases,
        )

    def fits(folder: Path) -> str | None:
        for template in templates:
            for _, row in body:
                if is_blank(cell(row, "subject")) or is_blank(cell(row, "filename")):
                    continue
                fields, problems = template_fields(row)
                rel = None if problems else find(folder, template, fields)[0]
                if rel is not None and list_frames(folder / rel, spec.frame_regex, prefix):
                    return template
        return None

    clip_dir, template = find_clip_dir(spec, root, frame_set, clips, fits)
    template = template or templates[0]
    base = base_root(root, clip_dir)
    reading = _Reading(
        root=base,
        sources={
            "annotation": str(sheet),
            "header_row": str(header.row_index + 1) if header.row_index >= 0 else "none",
            "clips": str(clip_dir),
            "layout": template,
            "frame_set": frame_set,
        },
    )
    checks: dict[str, _ClipCheck] = {}  # several rows may cut clips out of one recording
    seen: dict[str, int] = {}
    labels: dict[str, tuple[str, str]] = {}  # sample id -> (first row, its emotion)
    for excel_row, row in body:
        where = f"{sheet.name} row {excel_row}"
        problems: list[str] = []
        for fld in ("subject", "filename"):
            if is_blank(cell(row, fld)):
                problems.append(f"{where}, column {names[fld]!r}: empty")
        if problems:
            reading.excluded.append(Excluded(where, "", "; ".join(problems)))
            continue
        values = {fld: cell(row, fld) for fld in header.columns}
        fields, problems = template_fields(row)
        problems = [f"{where}: {p}" for p in problems]
        subject, filename = str(fields["subject"]), fields["filename"]
        try:
            sample_id = options.sample_template.format(**fields)
        except (KeyError, IndexError, ValueError) as err:
            raise ManifestError(f"{spec.path}: sample_template cannot be filled: {err!r}") from None
        if options.keep is not None:
            kind = normalise_label(cell_text(values.get(options.keep.field)))
            if kind in options.keep.skip:
                reason = f"{options.keep.field} {kind!r}: {options.keep.reason or 'not read'}"
                reading.excluded.append(Excluded(where, sample_id, reason, "filter"))
                continue
            if kind not in options.keep.values:
                problems.append(
                    f"{where}, column {names.get(options.keep.field, options.keep.field)!r}: {options.keep.field} {kind!r} is "
                    f"neither read {list(options.keep.values)} nor skipped {list(options.keep.skip)}"
                )
        label = f"{where} ({sample_id})"
        apply_corrections(spec.corrections, subject, filename, excel_row, values, label, reading.corrections)
        known = known_error(spec, excel_row, values, names, where, reading.corrections, label)
        if known:
            reading.excluded.append(Excluded(where, sample_id, known, "known-error"))
            continue
        numbers = frame_numbers(spec, values, names, where, problems, reading.corrections, label)
        emotion = cell_text(values["emotion"])
        check_duplicate_label(labels, sample_id, emotion, where)
        compound = options.multi_label is not None and options.multi_label[0] in emotion
        klass = None
        if not compound:
            klass = _classify(grouping, emotion, problems, f"{where}, column {names['emotion']!r}")
        if sample_id in seen:
            problems.append(f"{where}: duplicate sample id {sample_id!r} (first at row {seen[sample_id]})")
        else:
            seen[sample_id] = excel_row
        reason = unsafe_reason(filename) or unsafe_reason(sample_id)
        if reason:
            problems.append(f"{where}, column {names['filename']!r}: {reason}")
        if not problems and compound:
            rule = f"multi-label emotion {emotion!r}: rows with several labels are left out (single-label classes)"
            reading.excluded.append(Excluded(where, sample_id, rule, "multi-label"))
            continue
        if _exclude(reading, where, sample_id, problems, klass, emotion, grouping):
            continue
        onset, apex, offset = numbers
        rel, problem = find(clip_dir, template, fields)
        if rel is None:
            reading.excluded.append(Excluded(where, sample_id, f"{where}: {problem}"))
            continue
        if rel not in checks:
            checks[rel] = _check_clip(base, clip_dir, rel, spec, prefix)
        check, shown = checks[rel], (clip_dir / rel).as_posix()
        frames, frame_nums = check.frames, check.numbers
        clip_problems = list(check.problems)
        if not clip_problems and options.clip_frames.select == "span":
            span = cut_span(check.frames, check.numbers, onset, apex, offset, options.clip_frames, shown)
            clip_problems += span.problems
            reading.corrections += [f"{label}: {note}" for note in span.notes]
            frames, frame_nums = span.frames, span.numbers
            onset, apex, offset = span.onset, span.apex, span.offset
        elif not clip_problems:
            missing = sorted(set(range(onset, offset + 1)) - set(check.numbers))
            if missing:
                clip_problems.append(
                    f"frames missing on disk in {shown}: {compact_ranges(missing)} "
                    f"(annotated onset..offset {onset}..{offset}, found "
                    f"{check.numbers[0]}..{check.numbers[-1]})"
                )
            stray = _ClipCheck(check.frames, check.numbers, clip_problems)
            _strays(stray, shown, (onset, offset))
        if clip_problems:
            reading.excluded.append(Excluded(where, sample_id, f"{where}: " + "; ".join(clip_problems)))
            continue
        au_raw = values.get("action_units")
        reading.rows.append(
            ClipRecord(
                sample_id=sample_id,
                dataset=spec.name,
                subject=subject,
                clip=(clip_dir / rel).relative_to(base).as_posix(),
                frames=frames,
                frame_numbers=frame_nums,
                onset=onset,
                apex=apex,
                offset=offset,
                fps=spec.fps,
                emotion=emotion,
                label=klass[0],
                label_name=klass[1],
                action_units=parse_action_units(au_raw),
                au_text=cell_text(au_raw),
            )
        )
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
