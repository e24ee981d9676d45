"""Plan and write the synthetic dataset in the CASME II layout.

Layout written under ``out``::

    sub01/EP07_01f/img1234.jpg ...      frame numbers start at the onset, not 1
    CASME2-coding-synthetic.xlsx        CASME II columns, blank columns 3 and 7, some apex written '/'
    synthetic-truth.json                true apex, amplitude, class, AU region, pose, nuisances

The folder appears atomically: everything is written to a temporary sibling and renamed.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from openpyxl import Workbook
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from pipeline.atomic import atomic_dir
from pipeline.datasets.spec import load_spec
from pipeline.progress import Progress, Report

from .motion import AU_VARIANTS
from .params import CLASSES, SyntheticParams
from .render import ClipSpec, clip_motion, frame_landmarks, render_frame
from .subjects import Subject, detect_face, make_subject

SHEET_NAME = "CASME2-coding-synthetic.xlsx"
TRUTH_NAME = "synthetic-truth.json"
#: Header row of the sheet; None marks the blank columns the released CASME II sheet has.
SHEET_HEADER = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
)
TRUTH_FORMAT = "synthetic-me-truth"
#: Timestamp written into the sheet (the date of the CASME II coding file it imitates).
FIXED_TIME = datetime.datetime(2014, 5, 8)


@dataclass(frozen=True)
class SyntheticPlan:
    """A planned dataset: subjects, clips, and which sheet rows lose their apex."""

    params: SyntheticParams
    seed: int
    subjects: dict[int, Subject]
    clips: list[ClipSpec]
    missing_apex: frozenset[str]  # "sub01/EP02_01f" keys

    def subject_of(self, clip: ClipSpec) -> Subject:
        return self.subjects[clip.subject]


def clip_key(clip: ClipSpec) -> str:
    return f"sub{clip.subject:02d}/{clip.filename}"


def _draw_pose(rng: np.random.Generator, params: SyntheticParams) -> dict:
    h, w = params.frame_shape
    angle = rng.uniform(0, 2 * np.pi)
    return {
        "scale": float(1 + rng.uniform(-params.pose_scale, params.pose_scale)),
        "rotation": float(rng.uniform(-params.pose_rotation, params.pose_rotation)),
        "position": (
            float(w / 2 + rng.uniform(-params.pose_shift[0], params.pose_shift[0])),
            float(h / 2 + rng.uniform(-params.pose_shift[1], params.pose_shift[1])),
        ),
        "drift": (float(params.drift * np.cos(angle)), float(params.drift * np.sin(angle))),
    }


def _plan_subject_clips(
    subject: Subject, params: SyntheticParams, rng: np.random.Generator
) -> list[ClipSpec]:
    emotions = [e for e in CLASSES for _ in range(params.clips_per_class)]
    rng.shuffle(emotions)
    per_episode: Counter[int] = Counter()
    clips = []
    for emotion in emotions:
        episode = int(rng.integers(1, 20))
        per_episode[episode] += 1
        suffix = "f" if rng.random() < params.f_suffix_probability else ""
        au_text, side = AU_VARIANTS[emotion][int(rng.integers(len(AU_VARIANTS[emotion])))]
        length = int(rng.integers(params.clip_length[0], params.clip_length[1] + 1))
        apex = int(round(rng.uniform(*params.apex_position) * (length - 1)))
        apex = min(max(apex, 1), length - 2)
        spread = params.amplitude_spread
        amplitude = float(params.amplitude * rng.uniform(1 - spread, 1 + spread))
        blink_start = None
        if rng.random() < params.blink_probability:
            blink_start = int(rng.integers(0, length - params.blink_frames + 1))
        clip = ClipSpec(
            subject=subject.index,
            filename=f"EP{episode:02d}_{per_episode[episode]:02d}{suffix}",
            emotion=emotion,
            au_text=au_text,
            side=side,
            onset_frame=int(rng.integers(params.onset_range[0], params.onset_range[1] + 1)),
            length=length,
            apex_index=apex,
            amplitude=amplitude,
            jitter=rng.uniform(-params.jitter, params.jitter, size=(length, 2)),
            blink_start=blink_start,
            blink_frames=params.blink_frames,
            noise_seed=int(rng.integers(2**31)),
            **_draw_pose(rng, params),
        )
        for _attempt in range(6):
            if not params.verify_detection or _face_found(subject, clip, params):
                break
            clip = replace(clip, **_draw_pose(rng, params))
        else:
            raise RuntimeError(f"{clip_key(clip)}: dlib misses the face in the onset frame for 6 poses")
        clips.append(clip)
    return clips


def _face_found(subject: Subject, clip: ClipSpec, params: SyntheticParams) -> bool:
    gray = cv2.cvtColor(render_frame(subject, clip, 0, params), cv2.COLOR_RGB2GRAY)
    return detect_face(gray, upsample=0) is not None


def plan_dataset(params: SyntheticParams | None = None, seed: int = 0) -> SyntheticPlan:
    """Draw every subject and clip for ``seed`` (no files written)."""
    params = params or SyntheticParams()
    subjects: dict[int, Subject] = {}
    clips: list[ClipSpec] = []
    for index in range(1, params.subjects + 1):
        subject = make_subject(
            index, np.random.default_rng([seed, 1, index]), params.face_width, params.frame_shape
        )
        subjects[index] = subject
        clips.extend(_plan_subject_clips(subject, params, np.random.default_rng([seed, 2, index])))
    clips.sort(key=lambda c: (c.subject, c.filename))
    n_missing = 0
    if params.missing_apex_fraction > 0:
        n_missing = max(1, int(round(params.missing_apex_fraction * len(clips))))
    chosen = np.random.default_rng([seed, 3]).choice(len(clips), size=n_missing, replace=False)
    missing = frozenset(clip_key(clips[i]) for i in chosen)
    return SyntheticPlan(params, seed, subjects, clips, missing)


def sheet_rows(dataset: SyntheticPlan) -> list[list]:
    """Sheet rows in ``SHEET_HEADER`` order."""
    rows = []
    for clip in dataset.clips:
        apex = "/" if clip_key(clip) in dataset.missing_apex else clip.apex_frame
        rows.append(
            [
                clip.subject,
                clip.filename,
                None,
                clip.onset_frame,
                apex,
                clip.offset_frame,
                None,
                clip.au_text,
                clip.emotion,
            ]
        )
    return rows


def write_sheet(dataset: SyntheticPlan, path: Path) -> None:
    """CASME II style coding sheet (openpyxl), byte-identical for the same dataset.

    Workbook timestamps and the zip members' dates are pinned so that a seed reproduces the file.
    """
    book = Workbook()
    book.properties.created = book.properties.modified = FIXED_TIME
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(list(SHEET_HEADER))
    for row in sheet_rows(dataset):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)  # stamps properties.modified with the current time
    book.properties.modified = FIXED_TIME
    core = tostring(book.properties.to_tree())
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for member in src.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, core if member.filename == ARC_CORE else src.read(member))


def truth_record(dataset: SyntheticPlan) -> dict:
    """Ground truth for validation studies (JSON-serialisable)."""
    params = dataset.params
    shape = params.frame_shape
    clips = []
    for clip in dataset.clips:
        subject = dataset.subject_of(clip)
        motion = clip_motion(subject, clip, shape)
        clips.append(
            {
                "sample": clip_key(clip),
                "subject": clip.subject,
                "filename": clip.filename,
                "emotion": clip.emotion,
                "action_units": clip.au_text,
                "side": clip.side,
                "onset_frame": clip.onset_frame,
                "apex_frame": clip.apex_frame,
                "offset_frame": clip.offset_frame,
                "apex_in_sheet": clip_key(clip) not in dataset.missing_apex,
                "n_frames": clip.length,
                "amplitude_px": clip.amplitude,
                "au_region": {
                    "points": motion.points.round(3).tolist(),
                    "vectors": motion.vectors.round(5).tolist(),
                    "sigma": motion.sigma,
                    "coordinates": "frame px at the clip's base pose (before drift and jitter)",
                },
                "landmarks": frame_landmarks(subject, clip, 0).round(3).tolist(),
                "pose": {"scale": clip.scale, "rotation_deg": clip.rotation, "position": list(clip.position)},
                "drift_px": list(clip.drift),
                "jitter_px": clip.jitter.round(4).tolist(),
                "blink": None
                if clip.blink_start is None
                else {"start_frame": clip.onset_frame + clip.blink_start, "frames": clip.blink_frames},
                "noise_seed": clip.noise_seed,
            }
        )
    return {
        "format": TRUTH_FORMAT,
        "format_version": 1,
        "seed": dataset.seed,
        "params": params.to_dict(),
        "classes": list(CLASSES),
        "fps": load_spec("synthetic").fps,  # its frame rate is the spec's, like any dataset's
        "time_course": "raised cosine: 0 at onset, 1 at apex, 0 at offset",
        "subjects": {f"sub{s.index:02d}": s.info for s in dataset.subjects.values()},
        "clips": clips,
    }


def write_clip(dataset: SyntheticPlan, clip: ClipSpec, folder: Path) -> None:
    """Frames of one clip as ``img{N}.jpg``, N from the onset frame number."""
    folder.mkdir(parents=True)
    subject = dataset.subject_of(clip)
    quality = [cv2.IMWRITE_JPEG_QUALITY, dataset.params.jpeg_quality]
    motion = clip_motion(subject, clip, dataset.params.frame_shape)
    for i in range(clip.length):
        rgb = render_frame(subject, clip, i, dataset.params, motion=motion)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)
        if not ok:
            raise OSError(f"{folder}: JPEG encoding failed for frame {clip.onset_frame + i}")
        (folder / f"img{clip.onset_frame + i}.jpg").write_bytes(data.tobytes())


def write_dataset(
    out: str | os.PathLike,
    params: SyntheticParams | None = None,
    seed: int = 0,
    *,
    overwrite: bool = False,
    progress: bool = False,
    report: Report | None = None,
) -> SyntheticPlan:
    """Generate the dataset and write it to ``out`` atomically; returns the plan.

    ``out`` must not exist, or be empty, unless ``overwrite`` is given. ``progress``: a bar on a
    terminal, plain lines otherwise (`pipeline.progress`); ``report(percent, message)``: per percent.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    dataset = plan_dataset(params, seed)
    with atomic_dir(out) as tmp:
        desc, n = "generating synthetic data", len(dataset.clips)
        with Progress(desc, n, unit="clip", quiet=not progress, report=report) as bar:
            for clip in dataset.clips:
                write_clip(dataset, clip, tmp / clip_key(clip))
                bar.update(1)
        write_sheet(dataset, tmp / SHEET_NAME)
        (tmp / TRUTH_NAME).write_text(json.dumps(truth_record(dataset), indent=1))
    return dataset
