"""Frame files on disk: listing a clip folder in temporal order, and keeping paths inside the root."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


def frame_number(name: str) -> int:
    """Last integer in the file-name stem: ``EP01_5-12.jpg`` -> 12, ``img046.jpg`` -> 46."""
    match = _LAST_INT.search(Path(name).stem)
    if match is None:
        raise ValueError(f"no frame number in file name {name!r}")
    return int(match.group(1))


def list_frames(folder: Path, frame_regex: str, prefix: str = "") -> list[tuple[int, str]]:
    """``(frame number, file name)`` of a clip folder's frames, sorted by number (never lexically).

    A frame is a file whose name is ``prefix`` + a name matching ``frame_regex``. With an empty
    prefix, names that would match with a known frame-set prefix (``reg_``) are not frames.
    """
    pattern = re.compile(frame_regex)
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if not name.startswith(prefix):
                continue
            bare = name[len(prefix) :]
            if not prefix and bare.startswith("reg_"):
                continue
            if pattern.match(bare) and entry.is_file():
                out.append((frame_number(bare), name))
    out.sort()
    return out


def duplicate_numbers(listed: list[tuple[int, str]]) -> dict[int, list[str]]:
    """``{frame number: file names}`` for numbers that several files carry (``img02359``, ``img2359``)."""
    names: dict[int, list[str]] = {}
    for number, name in listed:
        names.setdefault(number, []).append(name)
    return {n: files for n, files in names.items() if len(files) > 1}


#: at most this many frame numbers missing in a row inside one clip (SMIC-HS folders lack a few)
MAX_GAP = 10


def contiguous_run(
    numbers: list[int], span: tuple[int, int] | None = None, max_gap: int = MAX_GAP
) -> tuple[int, int]:
    """The run of frame numbers holding ``span`` (onset, offset), else the longest run.

    Numbers belong to one run while at most ``max_gap`` numbers are missing between neighbours.

    Args:
        numbers: sorted, distinct frame numbers of a clip folder.
        span: the annotated onset..offset, which must lie inside one run.
        max_gap: longest tolerated stretch of missing numbers.

    Returns:
        ``(first, last)`` of the run; frames outside it are strays (a longer gap separates them).
    """
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n <= runs[-1][1] + 1 + max_gap:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    if span is not None:
        for first, last in runs:
            if first <= span[0] and span[1] <= last:
                return first, last
    first, last = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    return first, last


def unsafe_reason(rel: str) -> str | None:
    """Why a sheet-derived relative path cannot be used (absolute, ``..``, empty part), else None."""
    if not rel or rel.strip() != rel:
        return f"clip path {rel!r} is empty or has surrounding spaces"
    if "\\" in rel:
        return f"clip path {rel!r} contains a backslash"
    pure = PurePosixPath(rel)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        return f"clip path {rel!r} is absolute and would escape the dataset root"
    if any(part in ("..", ".", "") for part in rel.split("/")):
        return f"clip path {rel!r} contains '..' or '.' and would escape the dataset root"
    return None


def escapes(path: Path, root: Path) -> bool:
    """Whether ``path`` (after following symlinks) lies outside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def compact_ranges(numbers: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"`` (for messages)."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
