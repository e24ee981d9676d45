"""QC of a flow file: a figure (onset, apex, u, v and strain of a few clips, one clip per row) and
``qc.json`` (`flow_qc`: the clips whose flow does not go to their annotated apex, and those with
near-zero flow)."""

from __future__ import annotations

import json
import os
from collections import Counter

import h5py
import numpy as np

from pipeline.atomic import atomic_path
from pipeline.store import CacheInfo, clip_key, open_cache

from .compute import APEX_AT_ONSET, apex_rule  # noqa: E402
from .file import ARRAYS, open_flow  # noqa: E402

#: a flow whose 99th percentile magnitude (px) is below this is listed as near zero
NEAR_ZERO_PX = 0.02


class FlowQCError(ValueError):
    """``--strict``: a clip's flow would not go to its annotated apex because the apex is its onset."""


def apex_substitutions(info: CacheInfo) -> list[dict]:
    """The clips of cache ``info`` whose flow goes to the middle frame instead of the annotated apex
    (`pipeline.flow.compute.apex_rule`): ``sample_id``, ``onset``, ``apex``, ``offset`` (0-based),
    ``flow_apex`` and ``reason`` (``apex unknown`` or ``apex = onset``)."""
    out = []
    for clip in info.clips:
        frame, reason = apex_rule(clip.onset, clip.apex, clip.offset)
        if reason:
            out.append({"sample_id": clip.sample_id, "onset": clip.onset, "apex": clip.apex,
                        "offset": clip.offset, "flow_apex": frame, "reason": reason})  # fmt: skip
    return out


def check_strict(info: CacheInfo) -> None:
    """Raise `FlowQCError` naming the cache and its clips whose apex equals their onset (an unknown
    apex, as every SMIC clip has, is listed in the QC but not an error)."""
    bad = [s for s in apex_substitutions(info) if s["reason"] == APEX_AT_ONSET]
    if bad:
        names = ", ".join(f"{s['sample_id']} (onset = apex = {s['onset']})" for s in bad[:5])
        raise FlowQCError(
            f"{info.path}: --strict: {len(bad)} clip(s) with apex = onset, whose flow would go to the "
            f"middle frame instead: {names}{' ...' if len(bad) > 5 else ''}"
        )


def flow_qc(flow_path: str | os.PathLike, cache_path: str | os.PathLike, out_json) -> dict:
    """Write ``out_json`` (atomically) and return it: the flow file, its ``params``, ``apex_substituted``
    (`apex_substitutions`), ``counts`` by reason, and ``near_zero``: the clips whose flow's 99th
    percentile magnitude is below `NEAR_ZERO_PX` (``sample_id``, ``p99_px``)."""
    cache = open_cache(cache_path)
    flow = open_flow(flow_path, cache)
    substituted = apex_substitutions(cache)
    near_zero = []
    with h5py.File(flow_path, "r") as f:
        for clip in cache.clips:
            u, v = f["clips"][clip_key(clip.sample_id)][:2]
            p99 = float(np.percentile(np.hypot(u, v), 99))
            if p99 < NEAR_ZERO_PX:
                near_zero.append({"sample_id": clip.sample_id, "p99_px": round(p99, 5)})
    report = {
        "flow": str(flow_path),
        "cache": str(cache_path),
        "params": flow.params,
        "source": flow.source,
        "n_clips": len(cache.clips),
        "apex_substituted": substituted,
        "counts": dict(Counter(s["reason"] for s in substituted)),
        "near_zero": near_zero,
        "near_zero_px": NEAR_ZERO_PX,
    }
    with atomic_path(out_json, suffix=".json") as tmp:
        with open(tmp, "w") as handle:
            json.dump(report, handle, indent=1)
    return report


def plot_flow_examples(
    flow_path: str | os.PathLike, cache_path: str | os.PathLike, out_png, n: int = 6
) -> None:
    """Write ``out_png``: for up to ``n`` clips (one per class first), the onset and flow-apex frames,
    u and v (px, one symmetric colour scale per row) and the optical strain."""
    import matplotlib  # here, not at the top: matplotlib adds 0.3 s to every command's start

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
