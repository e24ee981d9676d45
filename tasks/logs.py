"""Per-task log files under ``<workdir>/logs/``, and the lock + log around a task's ``run``."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path


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


@contextlib.contextmanager
def running(task, what: str) -> Iterator[Path]:
    """Lock the task's output against other processes, and log into its log file while it runs.

    The log names the configuration files in use (``tasks.configfile``).
    """
    from pipeline.lock import exclusive
    from tasks.configfile import describe_configuration

    with exclusive(task.output().path, what), task_log(task.workdir, task.task_id) as path:
        logging.getLogger(__name__).info("%s: %s", task.task_id, describe_configuration())
        yield path
