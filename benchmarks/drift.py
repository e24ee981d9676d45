"""How well the face QC's ``drift_px`` reads the true head drift of the built-in synthetic set.

For every clip: the QC's landmark drift at the clip's last frame (``pipeline.faces.align``) against the
generator's ground truth (``synthetic-truth.json``: linear drift over the clip plus per-frame jitter),
both in crop pixels. Writes nothing; prints the absolute errors.

    python -m pipeline.synthetic --out /tmp/synth --seed 0 --quiet
    python benchmarks/drift.py /tmp/synth
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.datasets import load_manifest  # noqa: E402
from pipeline.faces import FaceParams, align_clip  # noqa: E402
from pipeline.synthetic import TRUTH_NAME  # noqa: E402


def true_drift(clip: dict, reference: int, last: int, scale: float) -> float:
    """Ground-truth shift of frame ``last`` against ``reference`` in crop pixels."""
    n = clip["n_frames"]
    ramp = np.array(clip["drift_px"]) * (last - reference) / max(n - 1, 1)
    jitter = np.array(clip["jitter_px"][last]) - np.array(clip["jitter_px"][reference])
    return float(np.hypot(*(ramp + jitter)) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="a folder written by python -m pipeline.synthetic")
    args = parser.parse_args()
    manifest = load_manifest("synthetic", args.root)
    truth = {c["sample"]: c for c in json.loads((Path(args.root) / TRUTH_NAME).read_text())["clips"]}
    errors = []
    for record in manifest.rows:
        reference = record.index_of(record.onset)
        qc = align_clip(
            record.frames, FaceParams(qc_face_frames=1), root=manifest.root, reference_index=reference
        ).qc
        if qc.drift_px["last"] is None:
            continue
        last = qc.face_checked_frames[-1]
        expected = true_drift(truth[record.sample_id], reference, last, qc.transform["scale"])
        errors.append(abs(qc.drift_px["last"] - expected))
    e = np.array(errors)
    print(json.dumps({"clips": len(e), "median_abs_error_px": round(float(np.median(e)), 3),
                      "p90_px": round(float(np.percentile(e, 90)), 3), "max_px": round(float(e.max()), 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
