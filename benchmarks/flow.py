"""Cost of one clip's onset -> apex flow: TV-L1 (the default) vs Farneback, one OpenCV thread.

Two inputs: (1) built-in synthetic clips (``python -m pipeline.synthetic``, 1 subject x 5 classes),
the onset and apex frames at the generator's 320x240 and resized to the cache's 128x128 face size;
(2) a cache of ``--clips`` 128x128 clips of 30 frames, through `compute_flow_file` (one process: read,
flow, strain, write). Prints a Markdown table (medians over ``--repeats``).

    python benchmarks/flow.py --repeats 5 --clips 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.flow import compute_flow_file, flow_params, optical_flow  # noqa: E402
from pipeline.store import CacheWriter  # noqa: E402
from tests.pipeline.test_flow import texture  # noqa: E402

METHODS = ("tvl1", "farneback")


def synthetic_pairs(folder: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The onset and apex frames (grayscale, 320x240) of each clip of a 1-subject synthetic set."""
    from pipeline.synthetic.__main__ import main as synthetic_main  # noqa: PLC0415

    synthetic_main(["--out", str(folder), "--subjects", "1", "--clips-per-class", "1", "--quiet"])
    truth = json.loads((folder / "synthetic-truth.json").read_text())
    pairs = []
    for clip in truth["clips"]:
        read = [
            cv2.imread(str(folder / clip["sample"] / f"img{clip[key]}.jpg"), cv2.IMREAD_GRAYSCALE)
            for key in ("onset_frame", "apex_frame")
        ]
        pairs.append(tuple(read))
    return pairs


def time_pairs(pairs, method: str, size: int | None, repeats: int) -> float:
    """Median seconds of one pair's flow (frames resized to ``size`` x ``size`` when given)."""
    params, times = flow_params(method), []
    for _ in range(repeats):
        for first, second in pairs:
            if size:
                first, second = (
                    cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in (first, second)
                )
            start = time.perf_counter()
            optical_flow(first, second, params)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_cache(folder: Path, clips: int, method: str, repeats: int) -> float:
    """Median seconds per clip of `compute_flow_file` on ``clips`` 128x128x30 clips."""
    cache = folder / "clips.h5"
    if not cache.exists():
        base = texture(128)
        with CacheWriter(cache, dataset="bench", params={}, classes=["a"]) as w:
            for i in range(clips):
                frames = np.stack([np.roll(base, (t // 3, t // 5), axis=(0, 1)) for t in range(30)])
                w.add_clip(f"s{i}/c{i}", frames.clip(0, 255).astype(np.uint8), subject=f"s{i}", label=0,
                           label_name="a", onset=0, apex=15, offset=29, fps=30.0, source="")  # fmt: skip
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        compute_flow_file(cache, folder / f"{method}-{r}.h5", flow_params(method), progress=False)
        times.append((time.perf_counter() - start) / clips)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        pairs = synthetic_pairs(Path(tmp) / "synthetic")
        rows = [
            (
                "built-in clip, onset/apex at 320x240",
                {m: time_pairs(pairs, m, None, args.repeats) for m in METHODS},
            ),
            (
                "built-in clip, resized to 128x128",
                {m: time_pairs(pairs, m, 128, args.repeats) for m in METHODS},
            ),
            (
                f"128x128x30 clip in a cache, compute_flow_file ({args.clips} clips, 1 process)",
                {m: time_cache(Path(tmp), args.clips, m, args.repeats) for m in METHODS},
            ),
        ]
    print(
        f"cv2 {cv2.__version__}, 1 OpenCV thread, median of {args.repeats} repeats ({len(pairs)} synthetic clips)\n"
    )
    print("| input | TV-L1 (ms / clip) | Farneback (ms / clip) | ratio |")
    print("|---|---|---|---|")
    for name, cost in rows:
        print(
            f"| {name} | {1000 * cost['tvl1']:.0f} | {1000 * cost['farneback']:.1f} | {cost['tvl1'] / cost['farneback']:.0f}x |"
        )


if __name__ == "__main__":
    main()
