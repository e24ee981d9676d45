"""A sheet row's clip cut out of a folder that may hold the whole recording (``select = "span"``).

The clip is the frames numbered onset..offset. Releases differ in what they hold there:

- CAS(ME)^3 part A folders are whole recordings with frames missing at the start of most videos and
  some inside: with ``missing = "skip"`` the clip is the frames that exist in onset..offset, however
  long the gaps (the ``MAX_GAP`` rule of :mod:`.frames` is for clip folders, where frames cut off by a
  gap are strays). The onset, apex and offset then move to the nearest existing frame inside the span
  so that they index the clip's frames; each move and each gap is reported with the row.
- MMEW (and, tolerated, 4DME) may number a trimmed clip's files 1..N while the sheet gives the
  recording's numbers: with ``numbering = "auto"``, when no file carries a number of onset..offset
  and the files are exactly 1..N with N = offset - onset + 1, file k is sheet frame onset + k - 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .frames import compact_ranges
from .options import ClipFrames


@dataclass
class Span:
    """The frames of one row's clip and the row's onset/apex/offset on them, or why not."""

    frames: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    onset: int = 0
    apex: int = -1
    offset: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _nearest(numbers: tuple[int, ...], target: int) -> int:
    return min(numbers, key=lambda n: (abs(n - target), n))


def cut_span(
    frames: tuple[str, ...],
    numbers: tuple[int, ...],
    onset: int,
    apex: int,
    offset: int,
    rules: ClipFrames,
    shown: str,
) -> Span:
    """The clip onset..offset out of a folder's sorted ``frames`` (numbered ``numbers``).

    ``shown`` names the folder in messages. Returns a :class:`Span` whose ``problems`` say why the
    row cannot be used, and whose ``notes`` report every rebase, gap and moved onset/apex/offset.
    """
    span = Span(onset=onset, apex=apex, offset=offset)
    wanted = range(onset, offset + 1)
    present = [n for n in numbers if onset <= n <= offset]
    if rules.numbering == "auto" and not present and numbers == tuple(range(1, len(numbers) + 1)):
        if len(numbers) == len(wanted):
            numbers = tuple(n + onset - 1 for n in numbers)
            present = list(numbers)
            span.notes.append(
                f"files numbered 1..{len(wanted)} in {shown}: file k is sheet frame {onset} + k - 1"
            )
        else:
            span.problems.append(
                f"{shown} holds files numbered 1..{len(numbers)}, neither the sheet's frames "
                f"{onset}..{offset} nor that clip renumbered from 1 ({len(wanted)} frames)"
            )
            return span
    missing = sorted(set(wanted) - set(present))
    found = f"found {numbers[0]}..{numbers[-1]}" if numbers else "found none"
    if missing and rules.missing == "reject":
        span.problems.append(
            f"frames missing on disk in {shown}: {compact_ranges(missing)} "
            f"(annotated onset..offset {onset}..{offset}, {found})"
        )
        return span
    if len(present) < rules.min_frames:
        span.problems.append(
            f"{len(present)} frame(s) of onset..offset {onset}..{offset} exist in {shown} ({found}); "
            f"a clip needs at least {rules.min_frames}"
        )
        return span
    if missing:
        span.notes.append(
            f"frame(s) {compact_ranges(missing)} of onset..offset {onset}..{offset} missing on disk: "
            f"the clip is the {len(present)} frame(s) that exist"
        )
    keep = [i for i, n in enumerate(numbers) if onset <= n <= offset]
    span.frames = tuple(frames[i] for i in keep)
    span.numbers = tuple(numbers[i] for i in keep)
    span.onset, span.offset = span.numbers[0], span.numbers[-1]
    if apex != -1:
        span.apex = apex if apex in span.numbers else _nearest(span.numbers, apex)
    for name, old, new in (
        ("onset", onset, span.onset),
        ("apex", apex, span.apex),
        ("offset", offset, span.offset),
    ):
        if old != new:
            span.notes.append(f"{name} {old} -> {new} (frame {old} is not on disk; nearest existing frame)")
    return span
