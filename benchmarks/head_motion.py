"""Real face photographs moved as a head moves, in the CASME II layout, through the README's BuildDatasetCache.

Does magnification keep the face when the head moves by several pixels? The built-in synthetic set
moves its faces by under a pixel; real video moves more. Here the two photographs that ship in
installed packages (scikit-image's astronaut, matplotlib's Grace Hopper) and their mirror images are
four subjects; each gets four 80-frame clips at 200 fps (0.4 s), 640x480:

    drift     translation ramp to (6, -3) px plus +/-0.3 px jitter per frame
    rotation  rotation ramp to 3 degrees about the face centre
    talking   the mouth opens and closes twice (4 px, 5 Hz), lower lip and jaw moving
    all       drift (5, 4) px, 2 degrees, talking 3 px and a 1 px sway at 1.5 Hz

and every clip carries a brow raise (1.5 px, raised cosine, apex at 45% of the clip): the
micro-expression. The tree is written under ``--out`` (``CASME2-coding-head-motion.xlsx``,
``sub01/EP01_01/img1.jpg``...), then ``luigi --module tasks BuildDatasetCache --dataset casme2 --root
DIR`` runs with the shipped defaults plus any ``--luigi`` options, and the per-clip preservation figures
of its ``qc.json`` are printed (median SSIM of magnified vs un-magnified frames, the amplitude share the
phase bound limited, the face stage's drift):

    python benchmarks/head_motion.py                                   # shipped defaults
    python benchmarks/head_motion.py --luigi "--f-low none --f-high none --phase-bound none"   # no band, no bound
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.identity import digest  # noqa: E402
from pipeline.synthetic import SHEET_HEADER  # noqa: E402
from pipeline.synthetic.motion import envelope  # noqa: E402
from pipeline.synthetic.subjects import detect_face, source_image  # noqa: E402

FPS = 200.0
FRAMES = 80
SIZE = (480, 640)  # (H, W) of the written frames
FACE_WIDTH = 220.0  # face box width in the written frames, px
SUBJECTS = (("astronaut", False), ("astronaut", True), ("grace_hopper", False), ("grace_hopper", True))
#: motion -> (drift (x, y) px, rotation deg, talking px, sway px, jitter px)
MOTIONS = {
    "drift": ((6.0, -3.0), 0.0, 0.0, 0.0, 0.3),
    "rotation": ((0.0, 0.0), 3.0, 0.0, 0.0, 0.0),
    "talking": ((0.0, 0.0), 0.0, 4.0, 0.0, 0.0),
    "all": ((5.0, 4.0), 2.0, 3.0, 1.0, 0.0),
}
BROW_PX = 1.5
HEADER = [name for name in SHEET_HEADER if name is not None]  # the CASME II sheet, no blank columns


def bump(shape: tuple[int, int], centre: np.ndarray, radius: tuple[float, float]) -> np.ndarray:
    """Gaussian weight ``(H, W)`` centred on ``centre`` (x, y) with standard deviations ``radius``."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return np.exp(-0.5 * (((xs - centre[0]) / radius[0]) ** 2 + ((ys - centre[1]) / radius[1]) ** 2))


def placed_subject(name: str, mirrored: bool) -> tuple[np.ndarray, np.ndarray]:
    """The photograph scaled so its face is ``FACE_WIDTH`` wide, centred on a grey 640x480 canvas.

    Returns (canvas uint8 (H, W), landmarks (68, 2) in canvas px).
    """
    gray = cv2.cvtColor(source_image(name, mirrored), cv2.COLOR_RGB2GRAY)
    found = detect_face(gray)
    if found is None:
        raise RuntimeError(f"no face found in the {name} photograph")
    box, points = found
    scale = FACE_WIDTH / (box[2] - box[0])
    centre = points.mean(axis=0)
    shift = np.array([SIZE[1] / 2, SIZE[0] / 2]) - scale * centre
    warp = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], dtype=np.float64)
    canvas = cv2.warpAffine(gray, warp, (SIZE[1], SIZE[0]), flags=cv2.INTER_AREA, borderValue=110)
    return canvas, points * scale + shift


def render_clip(canvas: np.ndarray, points: np.ndarray, motion: str, rng: np.random.Generator) -> np.ndarray:
    """``(FRAMES, H, W)`` uint8: the face deformed (brow raise, talking), then moved as a head."""
    drift, rotation, talking, sway, jitter = MOTIONS[motion]
    h, w = canvas.shape
    base_y, base_x = np.mgrid[0:h, 0:w].astype(np.float32)
    brows = bump((h, w), points[17:27].mean(axis=0) - (0, 8), (45.0, 14.0))
    mouth = points[48:68].mean(axis=0)
    jaw = bump((h, w), mouth + (0, 25), (45.0, 35.0)) * (base_y > mouth[1] - 2)
    centre = points.mean(axis=0)
    apex = int(round(0.45 * (FRAMES - 1)))
    frames = np.empty((FRAMES, h, w), dtype=np.uint8)
    for t in range(FRAMES):
        seconds = t / FPS
        ramp = t / (FRAMES - 1)
        # the source pixel each output pixel reads: brow raised (content moves up), jaw lowered
        dy = -BROW_PX * float(envelope(t, FRAMES, apex)) * brows
        dy += talking * math.sin(math.pi * 5.0 * seconds) ** 2 * jaw
        face = cv2.remap(
            canvas,
            base_x,
            (base_y - dy).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        move = np.asarray(drift) * ramp + sway * np.array([math.sin(2 * math.pi * 1.5 * seconds), 0.0])
        move = move + rng.uniform(-jitter, jitter, size=2)
        warp = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), rotation * ramp, 1.0)
        warp[:, 2] += move
        frames[t] = cv2.warpAffine(face, warp, (w, h), flags=cv2.INTER_LINEAR, borderValue=110)
    return frames


def write_tree(out: Path, seed: int = 0) -> list[list]:
    """Write the CASME II-layout tree; returns the sheet rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for number, (name, mirrored) in enumerate(SUBJECTS, start=1):
        canvas, points = placed_subject(name, mirrored)
        for episode, motion in enumerate(MOTIONS, start=1):
            filename = f"EP{episode:02d}_{motion}"
            folder = out / f"sub{number:02d}" / filename
            folder.mkdir(parents=True, exist_ok=True)
            onset = 1
            for t, frame in enumerate(render_clip(canvas, points, motion, rng)):
                cv2.imwrite(str(folder / f"img{onset + t}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            apex = onset + int(round(0.45 * (FRAMES - 1)))
            rows.append([number, filename, onset, apex, onset + FRAMES - 1, "1+2", "surprise"])
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(row)
    book.save(out / "CASME2-coding-head-motion.xlsx")
    return rows


def build(root: Path, workdir: Path, extra: list[str]) -> Path:
    """Run the README's BuildDatasetCache on ``root`` in ``workdir`` (one per option set, so it holds
    exactly one cache); returns its qc.json."""
    command = [
        "luigi", "--module", "tasks", "BuildDatasetCache", "--dataset", "casme2", "--root", str(root),
        "--workdir", str(workdir), "--local-scheduler", *extra,
    ]  # fmt: skip
    print("$", shlex.join(command), flush=True)
    subprocess.run(command, check=True)
    (qc,) = (workdir / "qc").glob("casme2-*/qc.json")
    return qc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("work/head-motion"))
    parser.add_argument("--luigi", default="", help="extra BuildDatasetCache options, one shell string")
    args = parser.parse_args(argv)
    root = args.out / "CASME2"
    if not (root / "CASME2-coding-head-motion.xlsx").exists():
        write_tree(root)
    options = shlex.split(args.luigi)
    workdir = args.out / "work" / (digest({"options": options}) if options else "defaults")
    qc = json.loads(build(root, workdir, options).read_text())
    print(f"{'clip':24s} {'ssim_median':>11s} {'bound_limited':>13s} {'face drift px':>13s}")
    for sid, meta in sorted(qc["clips"].items()):
        if meta.get("magnify") is None:
            print(f"{sid:24s} failed: {meta.get('error')}")
            continue
        mag, limited = meta["magnify"], meta["magnify"]["bound_limited_fraction"]
        drift = meta["face"].get("drift_px") or {}
        print(
            f"{sid:24s} {mag['ssim_median']:11.3f} {'-' if limited is None else f'{limited:.3f}':>13s}"
            f" {drift.get('last', float('nan')):13.2f}"
        )
    summary = qc["summary"]
    print(
        json.dumps(
            {k: summary.get(k) for k in ("min_ssim_median", "magnify_damaged", "max_bound_limited_fraction")}
        )
    )


if __name__ == "__main__":
    main()
