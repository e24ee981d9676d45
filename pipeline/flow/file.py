"""The flow file of a cache: every clip's onset -> apex flow and strain, a derived artifact.

Layout (HDF5): root attributes ``format`` (``me-flow``), ``format_version``, ``source_content_hash``
(the cache's ``content_hash``), ``dataset``, ``source`` (``magnified`` or ``raw`` frames), ``params`` (JSON of
`flow_identity`: the method's pinned parameters and the apex rule), ``complete``;
``clips/<clip_key>``: float32 ``(3, H, W)`` (u, v, strain at the cache's frame size) with attributes
``sample_id``, ``flow_apex`` (the frame the flow goes to) and ``apex_rule`` (``""``: the annotated apex;
else why the middle frame was used: `pipeline.flow.compute.apex_rule`).

`compute_flow_file` works in shards of clips, each written atomically beside the output (in
``<output>.staging/``, `pipeline.staging`) by a pool of worker processes: an interrupted computation resumes from the
shards it finished. The output is written atomically from the shards, which are then removed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import h5py
import numpy as np

from pipeline.atomic import atomic_path
from pipeline.progress import Progress, Report
from pipeline.staging import prepare_staging, run_units, save_unit, staging_dir, unit_path
from pipeline.store import CacheInfo, ClipInfo, clip_key, open_cache

from .compute import FlowParams, TVL1Params, apex_rule, flow_apex, onset_apex_flow

log = logging.getLogger(__name__)

FLOW_FORMAT = "me-flow"
FLOW_FORMAT_VERSION = 1


class FlowError(ValueError):
    """A flow file is missing, foreign, incomplete or of another cache (the message names the file)."""


@dataclass(frozen=True)
class FlowInfo:
    """A validated flow file: its path, source cache content hash, parameters, clips."""

    path: Path
    source_content_hash: str
    params: dict
    source: str
    sample_ids: tuple[str, ...]


#: which frames the flow is computed on: the cache's magnified ``frames`` or its ``raw`` ones
ARRAYS = {"magnified": "frames", "raw": "raw"}

#: the version of `pipeline.flow.compute.apex_rule` (2: the middle frame also where apex = onset)
APEX_RULE = "middle-if-unknown-or-onset"


def flow_identity(params: FlowParams) -> dict:
    """What determines a flow file's content besides the cache and the frames used: the flow method's
    pinned parameters and the apex rule (part of the file's name, `pipeline.identity.flow_name`)."""
    return {"algorithm": params.method, **asdict(params), "apex_rule": APEX_RULE}


def _shard_flows(
    k: int, cache_path: str, clips: list[tuple[int, ClipInfo]], params: FlowParams, source: str
) -> dict[str, np.ndarray]:
    """Worker: the flows of the ``(index, clip)`` pairs ``clips`` (shard ``k``) of cache ``cache_path``
    (one OpenCV thread: the same bytes for any number of worker processes)."""
    cv2.setNumThreads(1)
    out = {}
    with h5py.File(cache_path, "r") as f:
        for i, clip in clips:
            apex = flow_apex(clip.onset, clip.apex, clip.offset)
            frames = f["clips"][clip_key(clip.sample_id)][ARRAYS[source]]
            out[f"c{i}"] = onset_apex_flow(frames[clip.onset], frames[apex], params)
    return out


def compute_flow_file(
    cache_path: str | os.PathLike,
    out_path: str | os.PathLike,
    params: FlowParams | None = None,
    source: str = "magnified",
    processes: int = 1,
    shard_size: int = 32,
    progress: bool = True,
    report: Report | None = None,
) -> FlowInfo:
    """Compute the flow of every clip of ``cache_path`` (its ``source`` frames: ``magnified`` or
    ``raw``) into ``out_path`` with ``processes`` worker processes; ``params``: `TVL1Params` (the
    default) or `FarnebackParams`. Returns its `FlowInfo`. ``progress``: the console's bar or lines
    (`pipeline.progress`); ``report(percent, message)`` is told every shard.

    Same cache and parameters give the same bytes for any ``processes``.
    """
    cache_path, out_path = Path(cache_path), Path(out_path)
    params = params or TVL1Params()
    info = open_cache(cache_path)
    if source not in ARRAYS:
        raise ValueError(f"source must be one of {tuple(ARRAYS)}, got {source!r}")
    if source == "raw" and not info.has_raw:
        raise FlowError(
            f"{cache_path}: flow of the raw frames requested but the cache was built without keep_raw"
        )
    stamp = {"source_content_hash": info.content_hash, "params": flow_identity(params), "source": source,
             "shard": shard_size}  # fmt: skip
    parts = prepare_staging(staging_dir(out_path), stamp)  # shards of other data or parameters: discarded
    shards = [
        list(range(s, min(s + shard_size, len(info.clips)))) for s in range(0, len(info.clips), shard_size)
    ]
    todo = [k for k in range(len(shards)) if not unit_path(parts, f"part-{k:05d}").exists()]
    if len(todo) < len(shards):
        log.info(
            "%s: resuming, %d of %d shards already computed", out_path, len(shards) - len(todo), len(shards)
        )
    jobs = [(k, str(cache_path), [(i, info.clips[i]) for i in shards[k]], params, source) for k in todo]
    desc, done = f"flow {info.dataset}", len(shards) - len(todo)
    with Progress(desc, len(shards), initial=done, unit="shard", quiet=not progress, report=report) as bar:

        def save(job: tuple, flows: dict[str, np.ndarray]) -> None:
            save_unit(unit_path(parts, f"part-{job[0]:05d}"), flows, compress=False)
            bar.update(1)

        run_units(_shard_flows, jobs, processes, save)
    _write(info, parts, shards, out_path, params, source)
    shutil.rmtree(parts)
    return open_flow(out_path, info)


def _write(
    info: CacheInfo, parts: Path, shards: list[list[int]], out_path: Path, params: FlowParams, source: str
) -> None:
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FLOW_FORMAT
        f.attrs["format_version"] = FLOW_FORMAT_VERSION
        f.attrs["source_content_hash"] = info.content_hash
        f.attrs["dataset"] = info.dataset
        f.attrs["params"] = json.dumps(flow_identity(params), sort_keys=True)
        f.attrs["source"] = source
        clips = f.create_group("clips")
        for k, indices in enumerate(shards):
            with np.load(unit_path(parts, f"part-{k:05d}")) as shard:
                for i in indices:
                    clip = info.clips[i]
                    data = clips.create_dataset(clip_key(clip.sample_id), data=shard[f"c{i}"])
                    data.attrs["sample_id"] = clip.sample_id
                    frame, rule = apex_rule(clip.onset, clip.apex, clip.offset)
                    data.attrs["flow_apex"] = frame
                    data.attrs["apex_rule"] = rule
        f.attrs["complete"] = True


def open_flow(path: str | os.PathLike, cache: CacheInfo | None = None) -> FlowInfo:
    """Validate flow file ``path`` (and, given ``cache``, that it was computed from that cache's
    content and holds each of its clips); raises :class:`FlowError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FlowError(f"{path}: no such flow file")
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            if attrs.get("format") != FLOW_FORMAT or not attrs.get("complete"):
                raise FlowError(f"{path}: not a complete flow file (format {FLOW_FORMAT!r} expected)")
            keys = tuple(str(f["clips"][k].attrs["sample_id"]) for k in f["clips"])
    except FlowError:
        raise
    except (OSError, KeyError) as err:
        raise FlowError(f"{path}: not a readable flow file (truncated or corrupt?): {err}") from err
    flow = FlowInfo(
        path, str(attrs["source_content_hash"]), json.loads(attrs["params"]), str(attrs["source"]), keys
    )
    if cache is not None:
        if flow.source_content_hash != cache.content_hash:
            raise FlowError(
                f"{path}: computed from another cache (content {flow.source_content_hash[:12]}, "
                f"{cache.path} has {cache.content_hash[:12]}); delete it to recompute"
            )
        missing = sorted({c.sample_id for c in cache.clips} - set(keys))
        if missing:
            raise FlowError(f"{path}: no flow for clip(s) {missing[:5]} of {cache.path}")
    return flow
