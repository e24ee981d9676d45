"""A run's status file, ``<run>/status.json``: folds done, running, failed, killed or pending, each
fold's last epoch, and an estimate of the time left, so that scripts and other machines sharing the
work dir can follow a run (``python -m model.status RUN_DIR`` prints it).

Each fold writes its own ``fold-<subject>/status.json`` (one writer: the fold) and holds a lock on it
(`pipeline.lock.exclusive`) for as long as it runs; after every change it rewrites the run's
``status.json`` (the merged view) under the run's status lock, as several fold processes do at once.
Both are written atomically. A fold whose file says ``running`` while nobody holds its lock was killed:
the merged view says ``killed`` from the next rewrite on (another fold, a rerun, the aggregate);
:func:`read_status` checks it at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from model.progress import LOSS_NAMES, EpochProgress
from pipeline.atomic import write_text
from pipeline.identity import fold_name
from pipeline.lock import exclusive, is_held
from pipeline.progress import Report, duration

FORMAT = "akmnet-run-status-1"
STATUS = "status.json"
#: a fold's states; a run is ``done`` (every fold), ``running`` (a fold is), ``stopped`` (a fold
#: failed or was killed and none runs) or ``pending`` (none runs, none failed: between folds)
STATES = ("done", "running", "failed", "killed", "pending")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def fold_status_path(run_dir: str | os.PathLike, subject: str) -> Path:
    return Path(run_dir) / fold_name(subject) / STATUS


def fold_entry(run_dir: Path, subject: str, index: int) -> dict:
    """A fold as the merged view shows it: its own file; ``done`` only with its ``fold.json`` (the
    completion marker), ``killed`` when it says ``running`` but no live process holds its lock."""
    path = fold_status_path(run_dir, subject)
    entry = _read_json(path) or {"subject": subject, "index": index, "state": "pending"}
    finished = (path.parent / "fold.json").exists()
    if finished != (entry["state"] == "done"):
        return {**entry, "state": "done" if finished else "pending"}
    if entry["state"] == "running" and not is_held(path):
        return {**entry, "state": "killed"}
    return entry


def run_estimate(folds: dict[str, dict], epochs: int) -> tuple[float | None, float | None]:
    """``(seconds per epoch, seconds left)``: the mean over every epoch timed so far (all folds), and
    the epochs still to train in the folds not done at that pace, shared by the folds running now."""
    timed = [(f["seconds_per_epoch"], f["timed_epochs"]) for f in folds.values() if f.get("timed_epochs")]
    n = sum(t for _, t in timed)
    if not n:
        return None, None
    mean = sum(s * t for s, t in timed) / n
    left = sum(
        max(0, (f.get("epochs") or epochs) - (f.get("epoch") or 0))
        for f in folds.values()
        if f["state"] != "done"
    )
    running = sum(f["state"] == "running" for f in folds.values())
    return mean, mean * left / max(1, running)


def _run_state(counts: dict[str, int], total: int) -> str:
    if counts["done"] == total:
        return "done"
    if counts["running"]:
        return "running"
    return "stopped" if counts["failed"] or counts["killed"] else "pending"


def merged_view(run_dir: str | os.PathLike, subjects: list[str], epochs: int) -> dict:
    """The run's status from its folds' files (see the module docstring for the format)."""
    run_dir = Path(run_dir)
    folds = {s: fold_entry(run_dir, s, k) for k, s in enumerate(subjects, 1)}
    counts = {state: sum(f["state"] == state for f in folds.values()) for state in STATES}
    spe, left = run_estimate(folds, epochs)
    state = _run_state(counts, len(subjects))
    left = 0.0 if state == "done" else left
    latest = [f for f in folds.values() if f.get("epoch") and f.get("updated")]
    last = max(latest, key=lambda f: f["updated"], default=None)
    return {
        "format": FORMAT,
        "run": run_dir.name,
        "state": state,
        "updated": _now(),
        "folds_total": len(subjects),
        "counts": counts,
        "epochs": epochs,
        "seconds_per_epoch": spe,
        "eta_seconds": left,
        "eta": duration(left),
        "last_epoch": None if last is None else {k: last[k] for k in ("subject", "epoch", "updated")},
        "aggregated": (run_dir / "metrics.json").is_file(),
        "subjects": list(subjects),
        "folds": folds,
    }


def refresh(
    run_dir: str | os.PathLike, subjects: list[str] | None = None, epochs: int | None = None
) -> dict | None:
    """Recompute and atomically rewrite ``<run_dir>/status.json`` under the run's status lock;
    ``subjects``/``epochs`` default to the file's own. Returns the view (None: no status yet)."""
    path = Path(run_dir) / STATUS
    with exclusive(path, "run status", wait=60):
        if subjects is None or epochs is None:
            old = _read_json(path)
            if old is None:
                return None
            subjects, epochs = old["subjects"], old["epochs"]
        view = merged_view(run_dir, subjects, epochs)
        write_text(path, json.dumps(view, indent=1))
    return view


def read_status(run_dir: str | os.PathLike) -> dict | None:
    """The run's status computed now from its folds' files (nothing written); None without one."""
    old = _read_json(Path(run_dir) / STATUS)
    return None if old is None else merged_view(run_dir, old["subjects"], old["epochs"])


class FoldStatus:
    """The status file of one running fold; a context manager holding the fold's status lock.

    Leaving the block by an exception records ``failed`` (with the error) or, for an interruption
    (``KeyboardInterrupt``, ``SystemExit``), ``killed``."""

    def __init__(self, run_dir: str | os.PathLike, subject: str, subjects: list[str], epochs: int) -> None:
        self.run_dir, self.subjects, self.epochs = Path(run_dir), list(subjects), epochs
        self.path = fold_status_path(run_dir, subject)
        self.entry = {"subject": subject, "index": self.subjects.index(subject) + 1, "host": socket.gethostname(),
                      "pid": os.getpid(), "started": _now()}  # fmt: skip
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> FoldStatus:
        with contextlib.ExitStack() as stack:
            stack.enter_context(exclusive(self.path, "fold status", wait=10))
            self.update(state="running", epochs=self.epochs, epoch=0, error=None)
            self._stack = stack.pop_all()  # held until __exit__; released here if the write failed
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        with self._stack:
            if exc is not None and self.entry.get("state") != "done":
                state = "failed" if isinstance(exc, Exception) else "killed"
                self.update(state=state, error=f"{type(exc).__name__}: {str(exc).strip()[:500]}")
        return False

    def update(self, **fields) -> dict | None:
        """Change the fold's entry, write it, rewrite the run's merged view; returns the view."""
        self.entry.update(fields, updated=_now())
        write_text(self.path, json.dumps(self.entry, indent=1))
        return refresh(self.run_dir, self.subjects, self.epochs)


class FoldProgress(EpochProgress):
    """A fold's per-epoch progress (`model.progress.EpochProgress`: console, log, ``report``) and its
    status file, with the estimate of the time left for the run; a context manager around the fold
    (`model.loso.train_fold` enters it)."""

    def __init__(
        self, run_dir: str | os.PathLike, subject: str, subjects: list[str], *, epochs: int, name: str = "",
        quiet: bool = False, report: Report | None = None, stream: TextIO | None = None,
    ) -> None:  # fmt: skip
        k, n = list(subjects).index(subject) + 1, len(subjects)
        super().__init__(f"{name} fold {k}/{n} {subject}".strip(), quiet=quiet, report=report, stream=stream)
        self.status = FoldStatus(run_dir, subject, subjects, epochs)
        self.run_left: float | None = None

    def __enter__(self) -> FoldProgress:
        self.status.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return self.status.__exit__(*exc)

    def begin(self, epochs: int, done: int) -> None:
        super().begin(epochs, done)
        self.status.update(state="running", stage=self.stage or None, epoch=done, epochs=epochs,
                           resumed_from=done or None, seconds_per_epoch=None, timed_epochs=0)  # fmt: skip

    def epoch(self, record: dict, seconds: float) -> str:
        self.seconds.append(seconds)
        epoch = record["epoch"]
        view = self.status.update(
            epoch=epoch, lr=record["lr"], loss={k: record[k] for k in LOSS_NAMES if k in record},
            seconds_per_epoch=self.seconds_per_epoch(), timed_epochs=len(self.seconds),
            eta_seconds=self.fold_left(epoch),
        )  # fmt: skip
        self.run_left = view["eta_seconds"] if view else None
        return self.show(record)

    def left_text(self, epoch: int) -> str:
        return f"left {duration(self.fold_left(epoch))}, run ~{duration(self.run_left)}"

    def bar_note(self, losses: str) -> str:
        return f"{losses}, run ~{duration(self.run_left)}"

    def finish(self, summary: dict) -> None:
        """The fold is done (trained now or found finished): its status and a last report."""
        epochs = len(summary.get("history") or [])
        self.close()
        self.status.update(state="done", epoch=epochs, epochs=epochs, eta_seconds=0.0, error=None)
        spe = self.seconds_per_epoch()
        pace = f", {spe:.3g} s/epoch" if spe is not None else " (found finished)"
        if self.report is not None:
            self.report(100, f"{self.label}: done, {epochs} epochs{pace}")


def describe(view: dict) -> str:
    """A few lines for people: the run's state and counts, then every fold not pending."""
    c = view["counts"]
    lines = [
        f"{view['run']}: {view['state']}, folds {c['done']}/{view['folds_total']} done, {c['running']} running, "
        f"{c['failed']} failed, {c['killed']} killed, {c['pending']} pending; ~{view['eta']} left"
    ]
    for f in view["folds"].values():
        if f["state"] != "pending":
            where = f"epoch {f.get('epoch', 0)}/{f.get('epochs', view['epochs'])}"
            extra = f", {f['error']}" if f.get("error") else ""
            who = f"{f.get('host')} pid {f.get('pid')}"
            lines.append(f"  fold {f['index']} {f['subject']}: {f['state']}, {where}, {who}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m model.status RUN_DIR [--json]``: the run's status now (killed folds included)."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    if len(args) != 1:
        print("usage: python -m model.status RUN_DIR [--json]", file=sys.stderr)
        return 2
    view = read_status(args[0])
    if view is None:
        print(f"{args[0]}: no {STATUS} (no fold has started)", file=sys.stderr)
        return 1
    print(json.dumps(view, indent=1) if as_json else describe(view))
    return 0


if __name__ == "__main__":
    sys.exit(main())
