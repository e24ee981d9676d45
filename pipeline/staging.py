"""The one resumable-artifact builder's parts: a stamp-checked staging folder of one atomic file per unit,
and a bounded pool of single-thread spawn workers.

A derived artifact (the HDF5 cache of a dataset, the flow file of a cache) is built as units (clips,
shards), each saved to ``<output>.staging/<unit>.npz`` as soon as it is done; a killed build resumes
from the units on disk, provided the folder's stamp (everything the units depend on) is the same; the
artifact is then packed from the units into a temporary file, renamed into place, and the folder removed.
`pipeline.build.build_cache` and `pipeline.flow.compute_flow_file` are its two users.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from pipeline.atomic import atomic_path, write_text

STAMP = "stamp.json"


def staging_dir(out_path: str | Path) -> Path:
    """The staging folder of artifact ``out_path``: ``<out_path>.staging``."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".staging")


def prepare_staging(folder: Path, stamp: dict[str, Any]) -> Path:
    """Create ``folder`` for units made under ``stamp`` (JSON-serialisable); a folder holding units made
    under another stamp (other data or parameters under the same name), or none, is emptied first."""
    text = json.dumps(stamp, sort_keys=True)
    marker = folder / STAMP
    if folder.exists() and (not marker.is_file() or marker.read_text() != text):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        write_text(marker, text)
    return folder


def unit_path(folder: Path, name: str) -> Path:
    """The file of unit ``name`` (percent-encoded into one file name) in a staging ``folder``."""
    return folder / (quote(name, safe="") + ".npz")


def save_unit(path: Path, arrays: dict[str, np.ndarray], *, compress: bool = True) -> None:
    """Write one unit's arrays to ``path`` atomically (a killed write leaves only a hidden temporary)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        (np.savez_compressed if compress else np.savez)(handle, **arrays)


def single_thread_worker() -> None:
    """Pool initialiser: one torch and one OpenCV thread per worker process (workers x threads stay
    within the cores, and results do not depend on the thread count)."""
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def run_units(
    fn: Callable[..., Any], jobs: Iterable[tuple], workers: int, on_result: Callable[[tuple, Any], None]
) -> None:
    """``fn(*job)`` for every job, in this process when ``workers <= 1``, else in a pool of ``workers``
    spawned single-thread processes with at most ``2 * workers`` jobs in flight; ``on_result(job,
    result)`` is called in this process as each finishes (in completion order)."""
    if workers <= 1:
        for job in jobs:
            on_result(job, fn(*job))
        return
    pending: dict[Future, tuple] = {}
    queue = iter(jobs)
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=single_thread_worker
    ) as pool:
        while True:
            for job in queue:
                pending[pool.submit(fn, *job)] = job
                if len(pending) >= 2 * workers:
                    break
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_result(pending.pop(future), future.result())
