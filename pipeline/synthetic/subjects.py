"""Synthetic subjects: real face photographs turned into distinct identities.

Two photographs ship inside installed packages: scikit-image's ``astronaut`` and matplotlib's
``grace_hopper.jpg``. Each subject is one of them, optionally mirrored, cropped about the face,
warped by a smooth low-frequency random displacement field (a new face geometry), recoloured
(gain, contrast, brightness, gamma), and paired with its own background. dlib then gives the 68
landmarks of this neutral face, which the micro-expression motions are built from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.faces.models import PREDICTOR_68, dlib_model_path

SOURCES: tuple[str, ...] = ("astronaut", "grace_hopper")

#: Portrait side as a multiple of the face width.
PORTRAIT_FACTOR = 2.6


@dataclass(frozen=True)
class Subject:
    """One synthetic identity in its own portrait coordinates.

    portrait: float32 (P, P, 3) RGB in [0, 255], face centred, face width ``face_width``.
    mask: float32 (P, P) in [0, 1], soft head-and-shoulders matte.
    background: float32 (H, W, 3) RGB in [0, 255], the frame behind the person.
    landmarks: float64 (68, 2) dlib (x, y) points of the neutral face in portrait coordinates.
    """

    index: int
    source: str
    mirrored: bool
    face_width: float
    portrait: np.ndarray
    mask: np.ndarray
    background: np.ndarray
    landmarks: np.ndarray
    info: dict


@functools.cache
def _dlib():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(dlib_model_path(PREDICTOR_68)))


def detect_face(gray: np.ndarray, upsample: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Largest frontal face in a grey image.

    gray: uint8 (H, W). Returns (box (4,) float as x0, y0, x1, y1; landmarks (68, 2) float64) or None.
    """
    detector, predictor = _dlib()
    rects = detector(np.ascontiguousarray(gray), upsample)
    if len(rects) == 0:
        return None
    rect = max(rects, key=lambda r: r.width() * r.height())
    shape = predictor(np.ascontiguousarray(gray), rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
    return box, points


@functools.cache
def source_image(name: str, mirrored: bool = False) -> np.ndarray:
    """A packaged photograph: uint8 (H, W, 3) RGB, read-only."""
    if name == "astronaut":
        from skimage import data

        image = data.astronaut()
    elif name == "grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
            image = np.asarray(im.convert("RGB"))
    else:
        raise ValueError(f"source: unknown photograph {name!r}; choose from {SOURCES}")
    if mirrored:
        image = image[:, ::-1]
    image = np.ascontiguousarray(image)
    image.setflags(write=False)
    return image


@functools.cache
def _source_face_box(name: str, mirrored: bool) -> tuple[float, ...]:
    gray = cv2.cvtColor(source_image(name, mirrored), cv2.COLOR_RGB2GRAY)
    found = detect_face(gray, upsample=1)
    if found is None:
        raise RuntimeError(f"dlib finds no face in the packaged photograph {name!r}")
    return tuple(found[0])


def smooth_random_field(rng: np.random.Generator, size: int, grid: int, std: float) -> np.ndarray:
    """Low-frequency random displacement field.

    Gaussian displacements on a (grid, grid) lattice, bicubically upsampled.
    Returns float32 (size, size, 2) in px.
    """
    coarse = rng.normal(0.0, std, size=(grid, grid, 2)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Gradient plus multi-scale texture, float32 (H, W, 3) in [0, 255]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx + np.sin(angle) * yy) / max(height, width)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    c0, c1 = rng.uniform(40, 220, size=(2, 3)).astype(np.float32)
    image = c0 + ramp[..., None] * (c1 - c0)
    texture = np.zeros((height, width), np.float32)
    for cell, weight in ((4, 1.0), (12, 0.6), (40, 0.35)):
        coarse = rng.normal(size=(height // cell + 2, width // cell + 2)).astype(np.float32)
        texture += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    strength = rng.uniform(4, 18)
    image += strength * texture[..., None]
    return np.clip(image, 0, 255).astype(np.float32)


def _matte(size: int, face_width: float, center: np.ndarray) -> np.ndarray:
    """Soft head-and-shoulders matte, float32 (size, size) in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = center
    head = ((xx - cx) / (0.9 * face_width)) ** 2 + ((yy - cy + 0.15 * face_width) / (1.2 * face_width)) ** 2
    mask = (head <= 1.0).astype(np.float32)
    shoulders = (yy > cy + 0.95 * face_width) & (np.abs(xx - cx) < 1.0 * face_width)
    mask[shoulders] = 1.0
    return cv2.GaussianBlur(mask, (0, 0), 0.06 * face_width)


def make_subject(
    index: int, rng: np.random.Generator, face_width: tuple[float, float], frame_shape
) -> Subject:
    """Build subject ``index`` (1-based) from the random stream ``rng``.

    Draws identity parameters until dlib finds the face in the warped portrait (raises RuntimeError
    after 8 tries).
    """
    source = SOURCES[(index - 1) % len(SOURCES)]
    mirrored = bool(((index - 1) // len(SOURCES)) % 2)
    image = source_image(source, mirrored)
    x0, y0, x1, y1 = _source_face_box(source, mirrored)
    src_center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    src_width = x1 - x0
    for _attempt in range(8):
        width = float(rng.uniform(*face_width))
        size = int(round(PORTRAIT_FACTOR * width))
        aspect = float(rng.uniform(0.9, 1.1))
        kx, ky = width / src_width * aspect, width / src_width / aspect
        # The face box centre sits slightly above the portrait centre (room for shoulders).
        center = np.array([size / 2, size / 2 - 0.1 * width])
        crop = np.array(
            [[kx, 0, center[0] - kx * src_center[0]], [0, ky, center[1] - ky * src_center[1]]], np.float64
        )
        portrait = cv2.warpAffine(
            image, crop, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        ).astype(np.float32)
        warp_std = float(rng.uniform(0.03, 0.05)) * width
        field = smooth_random_field(rng, size, grid=5, std=warp_std)
        grid = np.mgrid[0:size, 0:size][::-1].transpose(1, 2, 0).astype(np.float32)
        portrait = cv2.remap(portrait, grid + field, None, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        gain = rng.uniform(0.88, 1.12, size=3).astype(np.float32)
        gamma = float(rng.uniform(0.8, 1.25))
        contrast = float(rng.uniform(0.8, 1.15))
        brightness = float(rng.uniform(-20, 20))
        portrait = 255.0 * (np.clip(portrait, 0, 255) / 255.0) ** gamma
        mean = float(portrait.mean())
        portrait = np.clip(((portrait - mean) * contrast + mean + brightness) * gain, 0, 255)
        gray = cv2.cvtColor(portrait.astype(np.uint8), cv2.COLOR_RGB2GRAY)
        found = detect_face(gray, upsample=1)
        if found is not None:
            break
    else:
        raise RuntimeError(f"subject {index}: dlib found no face in 8 identity draws")
    info = {
        "source": source,
        "mirrored": mirrored,
        "face_width": width,
        "portrait_size": size,
        "aspect": aspect,
        "identity_warp_std_px": warp_std,
        "gain": gain.tolist(),
        "gamma": gamma,
        "contrast": contrast,
        "brightness": brightness,
    }
    return Subject(
        index=index,
        source=source,
        mirrored=mirrored,
        face_width=width,
        portrait=portrait.astype(np.float32),
        mask=_matte(size, width, center),
        background=_background(rng, *frame_shape),
        landmarks=found[1],
        info=info,
    )
