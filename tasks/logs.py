"""Per-task log files under ``<workdir>/logs/``, the lock + log around a task's ``run``, and the
task's progress in Luigi's scheduler (``set_progress_percentage``, ``set_status_message``)."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import luigi

from pipeline.progress import duration

log = logging.getLogger(__name__)


class progress(luigi.Config):  # noqa: N801 (Luigi names configuration classes after their section)
    """``[progress]`` in luigi.cfg, ``--progress-quiet`` on the command line."""

    quiet = luigi.BoolParameter(
        default=False,
        parsing=luigi.BoolParameter.IMPLICIT_PARSING,
        description="no progress bars or per-epoch lines on the console (the task logs, the scheduler "
        "and the runs' status files still get them)",
    )


def quiet() -> bool:
    """Whether the console stays quiet (``--progress-quiet``, ``[progress] quiet``)."""
    return progress().quiet


class SchedulerProgress:
    """``report(percent, message)`` for `pipeline.progress`: Luigi's progress API of a running task
    (shown by ``luigid``'s page and its ``/api/task_list``). Outside a Luigi worker it does nothing;
    a scheduler that cannot be reached is logged once and never fails the task."""

    def __init__(self, task: luigi.Task) -> None:
        self.task, self.failed = task, False
        self.last = ""  # the last message sent

    def __call__(self, percent: int | None, message: str) -> None:
        self.last = message
        set_percentage, set_message = self.task.set_progress_percentage, self.task.set_status_message
        if self.failed or set_percentage is None or set_message is None:
            return
        try:
            if percent is not None:
                set_percentage(percent)
            set_message(message)
        except Exception as err:  # progress must not stop a training
            self.failed = True
            log.warning("progress not sent to the scheduler (%s); the task goes on", err)


@contextlib.contextmanager
def task_log(workdir: str | Path, task_id: str) -> Iterator[Path]:
    """Copy every log record emitted while the block runs into ``<workdir>/logs/<task_id>.log``."""
    logs = Path(workdir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / (re.sub(r"[^A-Za-z0-9_.=-]+", "_", task_id)[:180] + ".log")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


#: how long a training task waits for another process writing the same fold or run (then LockedError)
WAIT_FOR_OTHER = 7 * 24 * 3600.0


def announce_wait(path: str, what: str) -> None:
    """Log that another process holds ``path``'s lock and that this one waits for it."""
    from pipeline.lock import is_held, lock_path

    if is_held(path):
        holder = lock_path(path).read_text().strip() or "?"
        log.warning(
            "%s %s is being written by another process (pid %s, lock %s): waiting for it to finish; "
            "its result is then reused", what, path, holder, lock_path(path),
        )  # fmt: skip


@contextlib.contextmanager
def running(task, what: str, wait: float = 0.0) -> Iterator[SchedulerProgress]:
    """Lock the task's output against other processes, log into its log file while it runs, and tell
    the scheduler: ``<what>: running`` at the start, ``<what>: failed: <error>`` or 100 % at the end.

    A lock held by another process fails at once (`pipeline.lock.LockedError`), or after waiting up to
    ``wait`` seconds (training: a second run of one work dir waits for the first, which finishes).
    The log names the configuration files in use (``tasks.configfile``). Yields the task's
    :class:`SchedulerProgress`, for the job's own progress.
    """
    from pipeline.lock import exclusive
    from tasks.configfile import describe_configuration

    report = SchedulerProgress(task)
    if wait:
        announce_wait(task.output().path, what)
    with exclusive(task.output().path, what, wait=wait), task_log(task.workdir, task.task_id):
        log.info("%s: %s", task.task_id, describe_configuration())
        started, start = time.monotonic(), f"{what}: running"
        report(0, start)
        try:
            yield report
        except Exception as err:
            report(None, f"{what}: failed: {type(err).__name__}: {str(err).strip()[:300]}")
            raise
        # the job's own last message (a fold's "done, 40 epochs, ...") stays; else the time taken
        done = (
            report.last if report.last != start else f"{what}: done in {duration(time.monotonic() - started)}"
        )
        report(100, done)
