"""Exclusive locks on outputs: two processes never write the same cache, dataset or run at once.

A lock is an advisory ``flock`` on the hidden, empty file ``.<name>.lock`` beside the output. The kernel releases it when
the holder exits, however it exits, so a killed run leaves no lock that blocks the next one. A
second writer does not wait: it fails at once with :class:`LockedError`, naming the output and the
holder's process id, so that concurrent runs on one work dir are an error, not a corruption.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class LockedError(RuntimeError):
    """Another process is writing the same output."""


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` beside it."""
    target = Path(target)
    return target.with_name(f".{target.name}.lock")


def _acquire(fd: int, wait: float) -> bool:
    """Take the exclusive lock of ``fd``, trying again for up to ``wait`` seconds."""
    deadline, pause = time.monotonic() + wait, 0.02
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)  # long waits (a run waiting for another) poll once a second


@contextlib.contextmanager
def exclusive(target: str | os.PathLike, what: str = "output", wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock of ``target`` while the block runs; raise :class:`LockedError` if it is held
    (after trying for ``wait`` seconds: short read-modify-write sections such as a status file wait
    for each other, writers of an output do not).

    Args:
        target: the output being written (file or folder; it need not exist yet).
        what: how messages name it ("cache", "run", ...).
    """
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if not _acquire(fd, wait):
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise LockedError(
                f"{what} {Path(target)} is being written by another process (pid {holder}, lock {path}); "
                f"wait for it to finish or use another --workdir"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_held(target: str | os.PathLike) -> bool:
    """Whether a live process holds the lock of ``target`` (:func:`exclusive`): a shared lock is
    tried and released at once, so a holder that died, however it died, reads as not holding it."""
    try:
        fd = os.open(lock_path(target), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False
