"""QC figure of a flow file: onset, apex, u, v and strain of a few clips, one clip per row."""

from __future__ import annotations

import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pipeline.atomic import atomic_path  # noqa: E402
from pipeline.store import clip_key, open_cache  # noqa: E402

from .file import ARRAYS, open_flow  # noqa: E402


def plot_flow_examples(
    flow_path: str | os.PathLike, cache_path: str | os.PathLike, out_png, n: int = 6
) -> None:
    """Write ``out_png``: for up to ``n`` clips (one per class first), the onset and flow-apex frames,
    u and v (px, one symmetric colour scale per row) and the optical strain."""
    cache = open_cache(cache_path)
    flow = open_flow(flow_path, cache)
    chosen, seen = [], set()
    for clip in cache.clips:  # one clip per class, then the rest in order
        if clip.label not in seen:
            chosen.append(clip)
            seen.add(clip.label)
    chosen += [c for c in cache.clips if c not in chosen]
    chosen = chosen[:n]
    fig, axes = plt.subplots(len(chosen), 5, figsize=(10, 2.1 * len(chosen)), squeeze=False)
    with h5py.File(flow_path, "r") as f, h5py.File(cache_path, "r") as c:
        for row, clip in zip(axes, chosen):
            data = f["clips"][clip_key(clip.sample_id)]
            u, v, strain = data[()]
            frames = c["clips"][clip_key(clip.sample_id)][ARRAYS[flow.source]]
            limit = max(float(np.percentile(np.abs([u, v]), 99)), 1e-3)
            panels = [
                (frames[clip.onset], "gray", None, f"{clip.sample_id}\nonset ({clip.label_name})"),
                (frames[int(data.attrs["flow_apex"])], "gray", None, f"frame {int(data.attrs['flow_apex'])}"),
                (u, "coolwarm", (-limit, limit), f"u (px, +-{limit:.2f})"),
                (v, "coolwarm", (-limit, limit), "v (px)"),
                (strain, "magma", None, f"strain (max {float(strain.max()):.3f})"),
            ]
            for ax, (image, cmap, lims, title) in zip(row, panels):
                ax.imshow(image, cmap=cmap, vmin=lims[0] if lims else None, vmax=lims[1] if lims else None)
                ax.set_title(title, fontsize=7)
                ax.axis("off")
    fig.suptitle(f"onset -> apex flow of the {flow.source} frames", fontsize=9)
    fig.tight_layout()
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
