"""Progress of a long job where a user can watch it: the console and a ``report`` callback.

On a terminal the console shows a tqdm bar; when output goes to a file or CI (tqdm's ``disable=None``
test: the stream is not a tty) it shows plain lines instead, a few per job or one per step. ``quiet``
turns the console off. ``report(percent, message)`` receives the same text whenever the whole percentage
changes (the Luigi tasks pass the scheduler's progress API, `tasks.logs.SchedulerProgress`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

#: ``report(percent 0-100, message)``
Report = Callable[[int, str], None]


def duration(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h10m``, ``1d04h``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


class Progress:
    """``total`` steps of one job, ``initial`` of them done before (a resumed job).

    ``lines``: plain lines per job when the console is not a terminal (``None``: one per step);
    ``stream``: the console (default ``sys.stderr``, as tqdm).
    """

    def __init__(
        self,
        desc: str,
        total: int,
        *,
        initial: int = 0,
        unit: str = "step",
        quiet: bool = False,
        report: Report | None = None,
        lines: int | None = 10,
        stream: TextIO | None = None,
    ) -> None:
        self.desc, self.total, self.unit, self.lines, self.report = desc, total, unit, lines, report
        self.done = self.initial = initial
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.bar = tqdm(
            total=total, initial=initial, desc=desc, unit=unit, file=self.stream,
            disable=True if quiet else None, dynamic_ncols=True, leave=True,
        )  # fmt: skip
        self.plain = not quiet and self.bar.disable
        self._percent: int | None = None
        self._first: tuple[float, int] | None = None  # (when, steps done) at the first update

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100

    def left(self) -> float | None:
        """Seconds left at the mean pace of the steps done here (None before the first): from the
        first step on once there are two (the first also carries the start-up, e.g. a process pool)."""
        since, done_then = self._first or (self.started, self.initial)
        if self.done - done_then <= 0:
            since, done_then = self.started, self.initial
        ran = self.done - done_then
        if ran <= 0:
            return None
        return (time.monotonic() - since) / ran * (self.total - self.done)

    def line(self, note: str = "") -> str:
        """``<desc>: 40/80 clips (50%), <note>, ~1m20s left``."""
        parts = [f"{self.desc}: {self.done}/{self.total} {self.unit}s ({self.percent()}%)"]
        if note:
            parts.append(note)
        if self.done < self.total:
            parts.append(f"~{duration(self.left())} left")
        return ", ".join(parts)

    def update(self, n: int = 1, note: str = "", line: str | None = None) -> str:
        """``n`` more steps done: the bar (``note`` as its postfix), a plain line when one is due
        (``line``, default :meth:`line`), and ``report`` when the percentage changed or ``line`` is
        given. Returns the line."""
        before, self.done = self.done, self.done + n
        self._first = self._first or (time.monotonic(), self.done)
        if note:
            self.bar.set_postfix_str(note, refresh=False)
        self.bar.update(n)
        text = line or self.line(note)
        if self.plain and self._line_due(before):
            print(text, file=self.stream, flush=True)
        percent = self.percent()
        if self.report is not None and (line is not None or percent != self._percent):
            self.report(percent, text)
        self._percent = percent
        return text

    def _line_due(self, before: int) -> bool:
        if self.lines is None or self.done >= self.total:
            return True
        return self.done * self.lines // self.total > before * self.lines // self.total

    def close(self) -> None:
        self.bar.close()
