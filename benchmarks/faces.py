"""Throughput of the face stage: decode + align + crop of 640x480 JPEG clips.

Detection runs once per clip and is included (amortised over the clip's frames). Worker pools are
warmed up (models loaded) before timing, so the figures are steady-state frames per second.

    python benchmarks/faces.py --clips 8 --frames 60 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from pipeline.faces import FaceParams, align_clip
from pipeline.faces.frames import read_frame


def make_clips(folder: Path, clips: int, frames: int, quality: int = 95) -> list[list[Path]]:
    """Write ``clips`` clips of ``frames`` noisy 640x480 JPEGs (textured background, pasted face).

    The face box is about 180 px wide, as in lab-recorded micro-expression datasets at 640x480.
    """
    rng = np.random.default_rng(0)
    background = cv2.resize(data.camera(), (640, 480), interpolation=cv2.INTER_AREA)
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[20:260, 120:340]
    face = cv2.resize(face, None, fx=1.9, fy=1.9, interpolation=cv2.INTER_LINEAR)  # 456 x 418
    out = []
    for c in range(clips):
        canvas = background.copy()
        x, y = 100 + 25 * (c % 5), 5 + 5 * (c % 4)
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        clip_dir = folder / f"clip{c:03d}"
        clip_dir.mkdir(parents=True)
        paths = []
        for t in range(frames):
            frame = np.clip(canvas + rng.normal(0, 1.5, canvas.shape), 0, 255).astype(np.uint8)
            path = clip_dir / f"img{t}.jpg"
            cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
            paths.append(path)
        out.append(paths)
    return out


def _shape(paths: list[Path], params: FaceParams) -> tuple[int, ...]:
    return align_clip(paths, params).frames.shape


def _init() -> None:
    cv2.setNumThreads(1)


def run(clips: list[list[Path]], params: FaceParams, workers: int) -> float:
    """Frames per second of align_clip over all clips with ``workers`` processes (warm)."""
    total = sum(len(c) for c in clips)
    if workers <= 1:
        _shape(clips[0][:2], params)  # load the models
        start = time.perf_counter()
        for paths in clips:
            _shape(paths, params)
        return total / (time.perf_counter() - start)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init) as pool:
        list(pool.map(_shape, [clips[0][:2]] * workers, [params] * workers))  # warm every worker
        start = time.perf_counter()
        list(pool.map(_shape, clips, [params] * len(clips)))
        return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-qc-motion", action="store_true", help="skip the phase-correlation QC")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    params = FaceParams(qc_motion=not args.no_qc_motion)
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp), args.clips, args.frames)
        frames = [p for c in clips for p in c]
        start = time.perf_counter()
        for path in frames:
            read_frame(path)
        decode_fps = len(frames) / (time.perf_counter() - start)
        results = {
            "clips": args.clips,
            "frames_per_clip": args.frames,
            "qc_motion": params.qc_motion,
            "decode_only_fps_1proc": round(decode_fps, 1),
        }
        for workers in args.workers:
            results[f"align_fps_{workers}proc"] = round(run(clips, params, workers), 1)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
