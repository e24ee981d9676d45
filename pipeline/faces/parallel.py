"""Align many clips in worker processes with a bounded number of clips in flight."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import cv2

from .align import AlignedClip, align_clip
from .params import FaceParams

ClipJob = tuple[Hashable, Sequence[str | Path], int]  # key, frame paths, reference index


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _align_job(
    paths: Sequence[str | Path], params: FaceParams, root: str | None, ref: int
) -> AlignedClip | ValueError:
    try:
        return align_clip(paths, params, root=root, reference_index=ref)
    except ValueError as exc:  # FrameReadError / FaceNotFoundError: reported per clip, not fatal
        return exc


def align_many(
    jobs: Iterable[ClipJob],
    params: FaceParams,
    *,
    root: str | Path | None = None,
    workers: int = 1,
    progress: bool = False,
    start_method: str = "spawn",
) -> Iterator[tuple[Hashable, AlignedClip | ValueError]]:
    """Yield ``(key, AlignedClip or the ValueError it raised)`` in job order.

    At most ``2 * workers`` clips are decoded or waiting at any time, so memory stays bounded
    whatever the dataset size. ``workers <= 1`` runs in this process. Workers are spawned by default:
    forking a process that already holds torch or dlib threads can deadlock.
    """
    root_s = str(root) if root is not None else None
    jobs = list(jobs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="align faces", unit="clip")
    try:
        if workers <= 1:
            for key, paths, ref in jobs:
                yield key, _align_job(paths, params, root_s, ref)
                if bar is not None:
                    bar.update()
            return
        pending: deque[tuple[Hashable, Future]] = deque()
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(start_method),
            initializer=_init_worker,
        ) as pool:
            for key, paths, ref in jobs:
                pending.append((key, pool.submit(_align_job, paths, params, root_s, ref)))
                if len(pending) >= 2 * workers:
                    done_key, future = pending.popleft()
                    yield done_key, future.result()
                    if bar is not None:
                        bar.update()
            while pending:
                done_key, future = pending.popleft()
                yield done_key, future.result()
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()
