"""Build one dataset's HDF5 cache: manifest -> faces -> magnification -> uint8 -> store, plus QC.

Resumable: each finished clip is staged atomically as ``<out_path>.staging/<sample_id>.npz``; a rerun
after a crash skips clips whose staged file exists (when staged with the same parameters). The HDF5
file is packed from the staged clips at the end (written to a temporary name, renamed when complete)
and the staging folder is removed afterwards.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import shutil
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.atomic import write_text
from pipeline.datasets import ClipRecord, Manifest
from pipeline.faces.qc import face_summary
from pipeline.faces.record import FaceQC
from pipeline.params import PreprocessParams
from pipeline.progress import Progress, Report
from pipeline.staging import prepare_staging, run_units, save_unit, staging_dir, unit_path

log = logging.getLogger(__name__)


class BuildError(RuntimeError):
    """A cache build cannot finish (strict mode with failed clips, or no clip could be processed)."""


@dataclass
class BuildSummary:
    """What :func:`build_cache` did."""

    out_path: Path
    qc_dir: Path
    written: int
    processed: int
    reused: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_path"], d["qc_dir"] = str(self.out_path), str(self.qc_dir)
        return d


def record_fingerprint(record: ClipRecord) -> str:
    """Short hash of everything in a manifest row (a clip staged from another row is redone)."""
    text = json.dumps(asdict(record), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def staged_is_current(staged: Path, record: ClipRecord) -> bool:
    """True when ``staged`` exists, is readable and was made from this very manifest row."""
    if not staged.is_file():
        return False
    try:
        with np.load(staged) as data:
            return str(data["record"]) == record_fingerprint(record)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False


#: a clip whose median SSIM (magnified vs un-magnified) falls below this is named as damaged
DAMAGE_SSIM = 0.6


def median_ssim(magnified: np.ndarray, raw: np.ndarray) -> float:
    """Median over frames of SSIM(magnified frame, un-magnified frame): 1 when magnification left the
    face as it was, falling as it blurs, ghosts or wraps it. uint8 ``(T, S, S)`` inputs."""
    from skimage.metrics import structural_similarity

    return float(np.median([structural_similarity(m, r, data_range=255) for m, r in zip(magnified, raw)]))


def to_uint8(frames: np.ndarray) -> tuple[np.ndarray, float]:
    """Round and clip float frames to uint8; also return the fraction of clipped pixels."""
    rounded = np.rint(frames)
    clipped = float(np.mean((rounded < 0) | (rounded > 255)))
    return np.clip(rounded, 0, 255).astype(np.uint8), clipped


def process_clip(
    record: ClipRecord, root: Path, params: PreprocessParams, staged: Path, device: str | None = None
) -> dict[str, Any]:
    """Align, magnify and quantise one clip; save it to ``staged`` (atomically).

    Returns ``{"sample_id", "ok": True, "seconds"}``, or ``{"sample_id", "ok": False, "error"}``
    when the clip's frames cannot be read or no face is found (``ValueError``/``OSError``).
    """
    from pipeline.faces import align_clip
    from pipeline.magnify import get_magnifier

    start = time.perf_counter()
    try:
        reference = record.index_of(record.onset)
        aligned = align_clip(record.frames, params.faces, root=root, reference_index=reference)
        raw = aligned.frames
        magnifier = get_magnifier(params.magnifier)
        kwargs = {**(asdict(params.magnify) if params.magnify is not None else {}), "reference": reference}
        stats: dict[str, float] = {}
        if not magnifier.active(params.magnify):
            magnified, clipped = raw, 0.0
        else:
            magnified, clipped = to_uint8(
                np.asarray(
                    magnifier.run(
                        raw.astype(np.float32), fps=record.fps, reference=reference, device=device, stats=stats,
                        options=params.magnify,
                    )
                )
            )  # fmt: skip
        limited = stats["limited"] / stats["total"] if stats.get("total") else None
        preserved = median_ssim(magnified, raw)
    except (ValueError, OSError) as err:
        return {"sample_id": record.sample_id, "ok": False, "error": f"{type(err).__name__}: {err}"}
    qc_ref = aligned.qc.reference_index
    meta = {
        "face": aligned.qc.to_dict(),
        "magnify": {
            **kwargs,
            "fps": record.fps,
            "clipped_fraction": clipped,
            "bound_limited_fraction": limited,
            "ssim_median": preserved,
        },
        "seconds": round(time.perf_counter() - start, 3),
    }
    arrays = {
        "frames": magnified,
        "raw": raw,
        "reference_crop": raw[reference if qc_ref is None else qc_ref],
        "meta": np.array(json.dumps(meta)),
        "record": np.array(record_fingerprint(record)),
    }
    if aligned.reference_frame is not None:
        arrays["reference_frame"] = aligned.reference_frame
    save_unit(staged, arrays)
    return {"sample_id": record.sample_id, "ok": True, "seconds": meta["seconds"]}


def _run_clips(
    todo: list[ClipRecord],
    root: Path,
    params: PreprocessParams,
    staging: Path,
    workers: int,
    device: str | None,
    progress: Progress,
) -> dict[str, str]:
    """Process ``todo`` into ``staging`` (`pipeline.staging.run_units`); returns the failed clips' errors."""
    failed: dict[str, str] = {}

    def collect(job: tuple, result: dict[str, Any]) -> None:
        if not result["ok"]:
            failed[result["sample_id"]] = result["error"]
        progress.update(1, note=f"{len(failed)} failed")

    jobs = ((record, root, params, unit_path(staging, record.sample_id), device) for record in todo)
    run_units(process_clip, jobs, workers, collect)
    return failed


def failure_summary(failed: dict[str, str]) -> str:
    """Failed clips grouped by reason, one line each: ``  3 clip(s): <reason> (e.g. sub01/EP01)``.

    The reason is the error text with paths and clip names replaced by ``…`` and numbers by ``#``,
    so that clips that failed for the same cause fall together.
    """
    groups: dict[str, list[str]] = {}
    for sid, err in failed.items():
        generic = re.sub(r"\d+", "#", re.sub(r"[^\s()]*/[^\s()]*", "…", err.replace(sid, "…")))
        groups.setdefault(generic, []).append(sid)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return "\n".join(f"  {len(ids)} clip(s): {reason} (e.g. {ids[0]})" for reason, ids in ranked)


def _flagged_clips(rows: list[ClipRecord], staging: Path, failed: dict[str, str]) -> dict[str, str]:
    """Clips processed but flagged by face QC (the face is lost on some frames): ``{id: why}``."""
    flagged = {}
    for record in rows:
        if record.sample_id in failed:
            continue
        with np.load(unit_path(staging, record.sample_id)) as staged:
            face = FaceQC.from_dict(json.loads(str(staged["meta"]))["face"])
        if face.face_lost_frames:
            flagged[record.sample_id] = (
                f"face not found on frame(s) {face.face_lost_frames} of {face.n_frames} "
                f"(checked {face.face_checked_frames})"
            )
    return flagged


def _failed_rows(failed: dict[str, str]) -> dict[str, dict[str, Any]]:
    """qc.json rows of failed clips: no face or magnification record, the error."""
    return {sid: {"face": None, "magnify": None, "error": err} for sid, err in failed.items()}


def _write_failed_qc(
    qc_dir: Path,
    manifest: Manifest,
    params: PreprocessParams,
    failed: dict[str, str],
    problem: str,
    provenance: dict[str, Any] | None,
) -> None:
    """qc.json of a build that stopped: every failure's reason, and that no cache was written."""
    summary = {
        "status": "failed",
        "problem": problem,
        "dataset": manifest.dataset,
        "params_hash": params.hash(),
        "n_clips": len(manifest.rows),
        "n_written": 0,
        "n_failed": len(failed),
        "failed": failed,
        "failures_by_reason": failure_summary(failed).splitlines(),
        **(provenance or {}),
    }
    clips = _failed_rows(failed)
    write_text(
        qc_dir / "qc.json",
        json.dumps({"summary": summary, "params": params.to_dict(), "clips": clips}, indent=1),
    )


def _write_qc(
    qc_dir: Path,
    manifest: Manifest,
    params: PreprocessParams,
    metas: dict[str, dict[str, Any]],
    failed: dict[str, str],
    provenance: dict[str, Any] | None,
) -> None:
    clips = {sid: {**meta, "error": None} for sid, meta in metas.items()}
    clips.update(_failed_rows(failed))
    faces = {sid: FaceQC.from_dict(meta["face"]) for sid, meta in metas.items()}
    summary = {
        "status": "complete",
        "dataset": manifest.dataset,
        "params_hash": params.hash(),
        "n_clips": len(manifest.rows),
        "n_written": len(metas),
        "n_failed": len(failed),
        "failed": failed,
        **face_summary(faces),
        "failures_by_reason": failure_summary(failed).splitlines(),
        "max_clipped_fraction": max((m["magnify"]["clipped_fraction"] for m in metas.values()), default=0.0),
        "magnify_damaged": sorted(
            sid for sid, m in metas.items() if m["magnify"]["ssim_median"] < DAMAGE_SSIM
        ),
        "min_ssim_median": min((m["magnify"]["ssim_median"] for m in metas.values()), default=None),
        # None when no phase bound was set (nothing was measured)
        "max_bound_limited_fraction": max(
            (v for m in metas.values() if (v := m["magnify"]["bound_limited_fraction"]) is not None),
            default=None,
        ),
        **(provenance or {}),
    }
    text = json.dumps({"summary": summary, "params": params.to_dict(), "clips": clips}, indent=1)
    write_text(qc_dir / "qc.json", text)


def build_cache(
    manifest: Manifest,
    params: PreprocessParams,
    out_path: str | os.PathLike,
    qc_dir: str | os.PathLike,
    *,
    workers: int = 2,
    progress: bool = True,
    strict: bool = False,
    strips: int = 3,
    landmark_rows: int = 8,
    compression: str | None = "gzip",
    device: str | None = None,
    data_fingerprint: str = "",
    provenance: dict[str, Any] | None = None,
    report: Report | None = None,
) -> BuildSummary:
    """Build the HDF5 cache of ``manifest`` with ``params`` at ``out_path`` and its QC in ``qc_dir``.

    Per clip: ``pipeline.faces.align_clip`` (reference frame = onset) -> ``pipeline.magnify.magnify``
    (reference = onset) -> uint8. Clips run in a pool of ``workers`` processes (in this process when
    ``workers <= 1``). Clips whose frames cannot be read or that have no face (with
    ``FaceParams.fallback="skip"``) are left out and reported; with ``strict`` they make the build
    fail (finished clips are kept for the rerun).

    QC written to ``qc_dir``: ``qc.json`` (per clip: face QC, magnification parameters, error),
    ``reference_montage.png`` (aligned reference crop of every clip), ``landmarks.png`` (raw
    reference frame with landmarks for the first ``landmark_rows`` clips) and
    ``strip-<sample_id>.png`` (raw vs magnified) for the first ``strips`` clips.

    ``progress``: a bar on a terminal, a line per tenth of the clips otherwise (`pipeline.progress`);
    ``report(percent, message)`` is told every whole percent of the clips done.
    ``device`` is where magnification runs (default CPU; ``"cuda"`` when present). ``provenance``
    (e.g. the configuration files used) is added to the qc.json summary; ``data_fingerprint``
    (``pipeline.identity.data_fingerprint`` of the manifest) is stored in the file's attributes.

    Every failed clip's reason is logged and written to qc.json, also when the build stops; the
    error and the log summarise failures by reason. Clips whose face QC flags a lost face are kept
    and listed (``face_lost``), or fail the build in strict mode.

    Returns a :class:`BuildSummary`. Raises :class:`BuildError` in strict mode when clips failed
    or were flagged, or when no clip could be processed.
    """
    from pipeline.store import CacheWriter

    start = time.perf_counter()
    out_path, qc_dir = Path(out_path), Path(qc_dir)
    rows = list(manifest.rows)
    ids = [r.sample_id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"manifest of {manifest.dataset}: duplicate sample ids")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    qc_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_path.parent.glob(f".{out_path.name}.*.partial"):  # left by a killed packing step
        stale.unlink(missing_ok=True)
    staging = prepare_staging(
        staging_dir(out_path), {"dataset": manifest.dataset, "params": params.to_dict()}
    )
    todo = [r for r in rows if not staged_is_current(unit_path(staging, r.sample_id), r)]
    reused = len(rows) - len(todo)
    desc = f"{manifest.dataset} clips"
    with Progress(desc, len(rows), initial=reused, unit="clip", quiet=not progress, report=report) as bar:
        failed = _run_clips(todo, Path(manifest.root), params, staging, workers, device, bar)
    failed = _settle_failures(manifest, params, rows, staging, failed, strict, qc_dir, provenance)
    done = [r for r in rows if r.sample_id not in failed]
    writer = functools.partial(
        CacheWriter, out_path, dataset=manifest.dataset, params=params.to_dict(), classes=list(manifest.classes),
        compression=compression, data_fingerprint=data_fingerprint, grouping=manifest.grouping,
    )  # fmt: skip
    metas = _pack(writer, done, staging, params.keep_raw, qc_dir, strips, landmark_rows,
                  lambda metas: _write_qc(qc_dir, manifest, params, metas, failed, provenance))  # fmt: skip
    shutil.rmtree(staging, ignore_errors=True)
    summary = BuildSummary(
        out_path=out_path,
        qc_dir=qc_dir,
        written=len(done),
        processed=len(todo),
        reused=reused,
        failed=failed,
        seconds=round(time.perf_counter() - start, 2),
    )
    damaged = sorted(sid for sid, m in metas.items() if m["magnify"]["ssim_median"] < DAMAGE_SSIM)
    if damaged:
        log.warning(
            "%s: %d clip(s) with median SSIM(magnified, un-magnified) below %.1f (see qc.json): %s",
            manifest.dataset, len(damaged), DAMAGE_SSIM, ", ".join(damaged),
        )  # fmt: skip
    log.info("%s: %s", out_path, summary)
    return summary


def _settle_failures(manifest, params, rows, staging, failed, strict, qc_dir, provenance) -> dict[str, str]:
    """Log the failed and the flagged clips (lost faces); in strict mode a flagged clip counts as failed.
    A strict build with failures, or one where every clip failed, writes a failed qc.json and raises
    :class:`BuildError` listing them by reason; returns ``{sample_id: reason}`` of the clips left out."""
    for sid, err in failed.items():
        log.warning("%s: clip %s failed: %s", manifest.dataset, sid, err)
    flagged = _flagged_clips(rows, staging, failed)
    for sid, why in flagged.items():
        log.warning("%s: clip %s flagged: %s", manifest.dataset, sid, why)
    if strict:
        failed.update({sid: f"strict: {why}" for sid, why in flagged.items()})
    problem = None
    if failed and strict:
        problem = (
            f"{len(failed)} of {len(rows)} clip(s) of {manifest.dataset} failed or were flagged (strict)"
        )
    elif len(failed) == len(rows):
        problem = f"no clip of {manifest.dataset} could be processed ({len(failed)} failed)"
    if problem:
        _write_failed_qc(qc_dir, manifest, params, failed, problem, provenance)
        lines = "\n".join(f"  {sid}: {err}" for sid, err in failed.items())
        raise BuildError(
            f"{problem}; by reason:\n{failure_summary(failed)}\nper clip (also in {qc_dir / 'qc.json'}):\n{lines}"
        )
    if failed:
        log.warning(
            "%s: %d clip(s) left out; by reason:\n%s", manifest.dataset, len(failed), failure_summary(failed)
        )
    return failed


def _pack(writer, done, staging, keep_raw, qc_dir, strips, landmark_rows, write_qc) -> dict[str, dict]:
    """Write the staged clips ``done`` into the cache (``writer()`` opens it; renamed into place when it
    closes), the raw-vs-magnified strips of the first ``strips`` clips, ``write_qc(metas)`` and the
    reference and landmark montages, before the file is closed; returns each clip's staged meta."""
    from pipeline.faces.qc import write_landmark_montage, write_reference_montage
    from pipeline.magnify.strip import write_strip  # matplotlib: imported only to draw

    metas: dict[str, dict[str, Any]] = {}
    crops, labels, landmark_frames = [], [], []
    with writer() as cache:
        for i, record in enumerate(done):
            with np.load(unit_path(staging, record.sample_id)) as staged:
                meta = json.loads(str(staged["meta"]))
                frames, raw = staged["frames"], staged["raw"]
                crops.append(staged["reference_crop"])
                if len(landmark_frames) < landmark_rows and "reference_frame" in staged:
                    landmark_frames.append(
                        (staged["reference_frame"], staged["reference_crop"], FaceQC.from_dict(meta["face"]))
                    )
            metas[record.sample_id] = meta
            labels.append(record.sample_id.rsplit("/", 1)[-1])
            _add_clip(cache, record, frames, raw if keep_raw else None)
            if i < strips:
                write_strip(qc_dir / f"strip-{record.sample_id.replace('/', '_')}.png", raw, frames)
        write_qc(metas)
        faces = [FaceQC.from_dict(metas[r.sample_id]["face"]) for r in done]
        write_reference_montage(crops, faces, qc_dir / "reference_montage.png", labels)
        if landmark_frames:
            write_landmark_montage(*map(list, zip(*landmark_frames)), qc_dir / "landmarks.png")
    return metas


def _add_clip(writer, record: ClipRecord, frames: np.ndarray, raw: np.ndarray | None) -> None:
    """One clip into the cache: frame indices of its onset, apex (-1: unknown) and offset, and its record."""
    writer.add_clip(
        record.sample_id,
        frames,
        subject=record.subject,
        label=record.label,
        label_name=record.label_name,
        onset=record.index_of(record.onset),
        apex=record.index_of(record.apex) if record.apex >= 0 else -1,
        offset=record.index_of(record.offset),
        fps=record.fps,
        source=record.clip,
        raw=raw,
        part=record.dataset,
        onset_frame=record.onset,
        apex_frame=record.apex,
        offset_frame=record.offset,
        emotion=record.emotion,
        action_units=" ".join(record.action_units),
    )
