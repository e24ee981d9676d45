"""Cost of naming a cache by its data: manifest + ``data_fingerprint`` on a CASME II-sized tree.

The tree has the CASME II layout and sheet with ``--clips`` clips of ``--frames`` frames each
(255 x 80 = 20,400 frame files by default, 16x16 JPEGs: the fingerprint stats files, it does not
read them, so their size does not matter; the sheet and spec are hashed by content).

    python benchmarks/identity.py --clips 255 --frames 80
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.datasets import load_manifest, spec_files  # noqa: E402
from pipeline.identity import data_fingerprint  # noqa: E402
from tests.pipeline.dataset_trees import build_casme2  # noqa: E402

EMOTIONS = ("happiness", "disgust", "repression", "surprise", "others")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=255)
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME2"
        rows = [
            (
                1 + i % 26,
                f"EP{i:03d}",
                100,
                100 + args.frames // 2,
                100 + args.frames - 1,
                "12",
                EMOTIONS[i % 5],
            )
            for i in range(args.clips)
        ]
        build_casme2(root, rows)
        timings = {"load_manifest_s": [], "data_fingerprint_s": []}
        for _ in range(args.repeats):
            start = time.perf_counter()
            manifest = load_manifest("casme2", root)
            timings["load_manifest_s"].append(time.perf_counter() - start)
            start = time.perf_counter()
            data_fingerprint(manifest, spec_files("casme2"))
            timings["data_fingerprint_s"].append(time.perf_counter() - start)
        n_frames = sum(len(r.frames) for r in manifest.rows)
        print(
            json.dumps(
                {
                    "clips": len(manifest.rows),
                    "frame_files": n_frames,
                    **{k: round(min(v), 3) for k, v in timings.items()},
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
