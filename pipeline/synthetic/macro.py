"""The built-in pretraining set: macro (large, clearly visible) expressions of four categories on
synthetic identities, in the one-folder-per-class layout (`pipeline.faceimages`, layout ``folders``).

Each image is the apex frame of one expression rendered by the synthetic generator's machinery
(`pipeline.synthetic.render`) at a macro amplitude, on identities drawn from another random stream than
the built-in micro-expression subjects (so they are other faces of the same two photographs), each with
its own pose. The categories are the AKMNet paper's: positive (happiness: AU6+12), negative (disgust:
AU9+10), surprise (AU1+2) and others (AU4 brow lowerer).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from pipeline.atomic import atomic_dir

from .dataset import _draw_pose
from .params import SyntheticParams
from .render import ClipSpec, render_frame
from .subjects import make_subject

#: category folder -> the synthetic expression rendered for it
MACRO_CLASSES = {"positive": "happiness", "negative": "disgust", "surprise": "surprise", "others": "others"}


def write_pretrain_set(
    out: str | os.PathLike,
    n_per_class: int = 100,
    *,
    seed: int = 0,
    identities: int = 12,
    amplitude: tuple[float, float] = (6.0, 10.0),
    params: SyntheticParams | None = None,
) -> Path:
    """Write ``out/<category>/<category>_NNNN.jpg`` (``n_per_class`` each); built in a temporary folder
    and renamed when complete. Identities: ``identities`` subjects from the random stream ``[seed, 11,
    i]`` (the micro-expression set uses ``[seed, 1, i]``); peak displacement uniform in ``amplitude`` px."""
    out = Path(out)
    params = params or SyntheticParams()
    subjects = [
        make_subject(i, np.random.default_rng([seed, 11, i]), params.face_width, params.frame_shape)
        for i in range(1, identities + 1)
    ]
    with atomic_dir(out) as tmp:
        for category, emotion in MACRO_CLASSES.items():
            (tmp / category).mkdir()
            rng = np.random.default_rng([seed, 12, list(MACRO_CLASSES).index(category)])
            for k in range(n_per_class):
                subject = subjects[k % identities]
                clip = ClipSpec(
                    subject=subject.index, filename=f"{category}_{k:04d}", emotion=emotion, au_text="", side=None,
                    onset_frame=1, length=3, apex_index=1, amplitude=float(rng.uniform(*amplitude)),
                    jitter=np.zeros((3, 2)), blink_start=None, blink_frames=params.blink_frames,
                    noise_seed=int(rng.integers(2**31)), **_draw_pose(rng, params),
                )  # fmt: skip
                rgb = render_frame(subject, clip, 1, params)
                cv2.imwrite(
                    str(tmp / category / f"{clip.filename}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                )
    return out
