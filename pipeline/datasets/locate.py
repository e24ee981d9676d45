"""Finding a dataset's annotation sheet and clip folder under the root the user points at."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .records import ManifestError
from .sheets import Header, find_header, headerless, read_table
from .spec import DatasetSpec


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def release_dirs(spec: DatasetSpec, frame_set: str) -> tuple[str, ...]:
    """Release subfolders that may hold the clips of frame set ``frame_set``."""
    chosen = spec.frame_set(frame_set).release_dirs
    return spec.release_dirs if chosen is None else chosen


def read_sheet(spec: DatasetSpec, path: Path) -> tuple[list[tuple[Any, ...]], Header]:
    """The annotation table of ``path`` (the spec's worksheet) and where its columns are."""
    table = read_table(path, spec.options.sheet)
    if spec.options.headerless:
        numeric = tuple(f for f in ("onset", "offset") if f in spec.options.positions)
        return table, headerless(table, spec.options.positions, numeric, source=path)
    header = find_header(
        table, spec.columns, spec.required_fields, search_rows=spec.header_search_rows, source=path
    )
    return table, header


def find_annotation(spec: DatasetSpec, root: Path, override: Path | None) -> Path:
    """The one annotation sheet under ``root`` (or its release or annotation folders) that fits."""
    if override is not None:
        if not override.is_file():
            raise ManifestError(f"annotation file not found: {override}")
        return override
    dirs = spec.release_dirs + spec.options.annotation_dirs
    folders = _unique([root] + [root / d for d in dirs if (root / d).is_dir()])
    matches = _unique(
        sorted(p for folder in folders for pattern in spec.annotation_globs for p in folder.glob(pattern))
    )
    fitting: list[Path] = []
    problems: list[str] = []
    for path in matches:
        if path.name.startswith("~$"):  # Excel lock file
            continue
        try:
            read_sheet(spec, path)
        except ManifestError as err:
            problems.append(str(err))
        else:
            fitting.append(path)
    if not fitting and problems:
        raise ManifestError("\n".join(problems))
    if not fitting:
        looked = ", ".join(str(f) for f in folders)
        raise ManifestError(
            f"{spec.name}: no annotation sheet matching {list(spec.annotation_globs)} in {looked}. "
            "Pass --annotation FILE."
        )
    if len(fitting) > 1:
        listing = "\n  ".join(str(p) for p in fitting)
        raise ManifestError(
            f"{spec.name}: several annotation sheets fit; choose one with --annotation:\n  {listing}"
        )
    return fitting[0]


def find_clip_dir(
    spec: DatasetSpec, root: Path, frame_set: str, override: Path | None, fits: Callable[[Path], Any]
) -> tuple[Path, Any]:
    """The one folder (``root`` or a release subfolder) in which ``fits`` finds the clips, and what
    ``fits`` said of it (e.g. the layout that fits; for ``--clips``, None when nothing fits)."""
    if override is not None:
        if not override.is_dir():
            raise ManifestError(f"clip folder not found: {override}")
        return override, fits(override) or None
    candidates = _unique([root] + [root / d for d in release_dirs(spec, frame_set) if (root / d).is_dir()])
    found = [(c, fits(c)) for c in candidates]
    fitting = [(c, what) for c, what in found if what]
    if not fitting:
        looked = ", ".join(str(c) for c in candidates)
        raise ManifestError(
            f"{spec.name}: no clip folders of frame set {frame_set!r} found in {looked} "
            f"(release subfolders looked for: {list(release_dirs(spec, frame_set))}). Pass --clips DIR."
        )
    if len(fitting) > 1:
        listing = "\n  ".join(str(c) for c, _ in fitting)
        raise ManifestError(f"{spec.name}: several clip folders fit; choose one with --clips:\n  {listing}")
    return fitting[0]


def base_root(root: Path, clips: Path) -> Path:
    """The folder manifest paths are relative to: the dataset root, or the clip folder outside it."""
    try:
        clips.resolve().relative_to(root.resolve())
    except ValueError:
        return clips
    return root
