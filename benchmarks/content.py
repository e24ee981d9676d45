"""Cost of content checks on a CASME II-sized dataset: the data fingerprint over every frame file's bytes,
the same fingerprint from size + mtime (the earlier rule), the JPEG warning capture per frame, and the
verification of a CASME II-sized cache's ``content_hash``.

The tree (``--clips`` x ``--frames`` 640x480 JPEG files of about 30 KB, the CASME II layout and sheet)
and the cache (the same clips as 128x128 gzip-compressed frames) are generated under ``--tmp``
(default: a temporary folder under /tmp), never in the repository.

    python benchmarks/content.py --clips 255 --frames 80
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.datasets import load_manifest, spec_files  # noqa: E402
from pipeline.faces.jpegwarn import decode_jpeg  # noqa: E402
from pipeline.identity import data_fingerprint, digest  # noqa: E402
from pipeline.store import CacheWriter, open_cache  # noqa: E402
from pipeline.store.verify import content_hash  # noqa: E402
from tests.pipeline.dataset_trees import CASME2_HEADER, write_sheet  # noqa: E402

EMOTIONS = ("happiness", "disgust", "repression", "surprise", "others")


def jpeg_pool(n: int, rng) -> list[bytes]:
    """``n`` 640x480 JPEGs of about 30 KB (smooth texture + noise, quality 80)."""
    pool = []
    for _ in range(n):
        cells = rng.integers(0, 256, (15, 20), dtype=np.uint8)
        base = cv2.resize(cells, (640, 480), interpolation=cv2.INTER_CUBIC)
        img = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
        pool.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    return pool


def write_tree(root: Path, clips: int, frames: int, rng) -> list[tuple]:
    pool, rows = jpeg_pool(32, rng), []
    for i in range(clips):
        subject, name = 1 + i % 26, f"EP{i:03d}"
        rows.append((subject, name, 100, 100 + frames // 2, 100 + frames - 1, "12", EMOTIONS[i % 5]))
        folder = root / "CASME2_RAW_selected" / f"sub{subject:02d}" / name
        folder.mkdir(parents=True)
        for k in range(frames):
            (folder / f"img{100 + k}.jpg").write_bytes(pool[(i + k) % len(pool)])
    write_sheet(root / "CASME2-coding-20140508.xlsx", CASME2_HEADER, rows)
    return rows


def stat_fingerprint(manifest) -> str:
    """The earlier rule: each frame file's size and modification time."""
    stats = [(os.stat(manifest.root / f).st_size, os.stat(manifest.root / f).st_mtime_ns)
             for r in manifest.rows for f in r.frames]  # fmt: skip
    return digest(stats, 16)


def write_cache(path: Path, clips: int, frames: int, rng) -> None:
    base = cv2.resize(rng.integers(0, 256, (16, 16), dtype=np.uint8), (128, 128))
    with CacheWriter(path, dataset="casme2", params={"bench": 1}, classes=list(EMOTIONS)) as writer:
        for i in range(clips):
            video = np.clip(base[None] + rng.normal(0, 3, (frames, 128, 128)), 0, 255).astype(np.uint8)
            writer.add_clip(f"sub{1 + i % 26:02d}/EP{i:03d}", video, subject=f"sub{1 + i % 26:02d}",
                            label=i % 5, label_name=EMOTIONS[i % 5], onset=0, apex=frames // 2,
                            offset=frames - 1, fps=200.0, source="x")  # fmt: skip


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=255)
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        root = Path(tmp) / "CASME2"
        write_tree(root, args.clips, args.frames, rng)
        manifest = load_manifest("casme2", root)
        files = [manifest.root / f for r in manifest.rows for f in r.frames]
        one = np.fromfile(files[0], np.uint8)
        out = {"clips": len(manifest.rows), "frame_files": len(files),
               "mean_frame_kb": round(sum(f.stat().st_size for f in files) / len(files) / 1024, 1)}  # fmt: skip
        out["fingerprint_size_mtime_s"] = best(lambda: stat_fingerprint(manifest), args.repeats)
        out["fingerprint_content_s"] = best(
            lambda: data_fingerprint(manifest, spec_files("casme2")), args.repeats
        )
        out["imdecode_ms"] = best(lambda: [cv2.imdecode(one, 0) for _ in range(200)], args.repeats) * 5
        out["imdecode_with_warning_capture_ms"] = (
            best(lambda: [decode_jpeg(one) for _ in range(200)], args.repeats) * 5
        )
        cache = Path(tmp) / "cache.h5"
        write_cache(cache, args.clips, args.frames, rng)
        out["cache_mb"] = round(cache.stat().st_size / 2**20, 1)
        out["open_cache_s"] = best(lambda: open_cache(cache), args.repeats)
        out["verify_content_hash_s"] = best(lambda: content_hash(cache), args.repeats)
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
