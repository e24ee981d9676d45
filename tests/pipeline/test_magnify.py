"""Phase-based magnification: pyramid exactness, pyrtools agreement, shift law, temporal filters, errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.signal
import torch

from pipeline.magnify import (
    MagnifyParams,
    SteerablePyramid,
    filter_bank,
    ideal_bandpass,
    lfilter,
    magnify,
    wrap_phase,
)
from pipeline.magnify.strip import write_strip
from pipeline.magnify.temporal import StreamFilter

KINDS = ["octave", "half-octave", "smooth-half-octave", "quarter-octave"]
LAM = 16  # grating wavelength (pixels); 64 / 16 whole periods, so the clip is periodic in space
N = 64


def _image(n: int = 96, seed: int = 0) -> torch.Tensor:
    """A natural-looking test image: smoothed noise plus a bright square, values ~0..255."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 1, n + 6, n + 6, generator=g) * 255
    img = torch.nn.functional.avg_pool2d(noise, 7, 1)[0, 0]
    img[n // 4 : n // 2, n // 3 : n // 2 + 10] += 60
    return img


def _grating(deltas: np.ndarray) -> np.ndarray:
    """Vertical cosine grating translated along x by ``deltas[t]`` pixels: float32 ``(T, N, N)``."""
    x = np.arange(N)
    rows = [100 + 50 * np.cos(2 * np.pi * (x - d) / LAM) for d in deltas]
    return np.stack([np.tile(r, (N, 1)) for r in rows]).astype(np.float32)


def _shift(frames: np.ndarray) -> np.ndarray:
    """Least-squares Fourier shift estimate of each frame against the untranslated grating (pixels).

    Fits ``F_t(k) = F_0(k) exp(-i k s)`` over all significant x-frequencies, weighted by amplitude.
    """
    spec = np.fft.rfft(frames.mean(axis=1), axis=-1)[:, 1:]
    ref = np.fft.rfft(_grating(np.zeros(1))[0].mean(axis=0))[1:]
    k = 2 * np.pi * np.arange(1, spec.shape[1] + 1) / frames.shape[-1]
    wgt = np.abs(ref) * (np.abs(ref) > 1e-3 * np.abs(ref).max())
    phase = np.angle(spec * np.conj(ref))
    return -(phase * wgt * k).sum(axis=1) / (wgt * k**2).sum()


def _rel_rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.sqrt(((a - b) ** 2).mean()) / torch.sqrt((b**2).mean()))


@pytest.mark.parametrize(
    "kind,tol",
    [("octave", 1e-5), ("smooth-half-octave", 1e-5), ("quarter-octave", 1e-5), ("half-octave", 1e-3)],
)
def test_reconstruction_alpha0(kind: str, tol: float) -> None:
    img = _image()
    pyr = SteerablePyramid(96, 96, kind)
    assert _rel_rms(pyr.reconstruct(pyr.build(img)), img[None]) < tol
    clip = torch.stack([img, img.roll(1, 1), img.roll(2, 0)])
    assert _rel_rms(torch.as_tensor(magnify(clip, fps=30, alpha=0.0, pyramid=kind)), clip) < tol


def test_shifted_image_is_not_reconstructed_from_unshifted_bands() -> None:
    """Guards the reconstruction test: a different image gives a large error."""
    img = _image()
    pyr = SteerablePyramid(96, 96, "octave")
    assert _rel_rms(pyr.reconstruct(pyr.build(img.roll(3, 1))), img[None]) > 0.05


@pytest.mark.parametrize("kind", ["octave", "smooth-half-octave", "quarter-octave"])
@pytest.mark.parametrize("shape", [(64, 64), (48, 80)])
def test_filter_energy_sums_to_one(kind: str, shape: tuple[int, int]) -> None:
    h, w = shape
    bank = filter_bank(h, w, kind)
    total = bank.residual_gain.double().clone()
    for lvl in bank.levels:
        full = torch.zeros(lvl.filters.shape[0], h, w, dtype=torch.float64)
        full[:, lvl.rows, lvl.cols] = lvl.filters.double()
        unshifted = torch.fft.ifftshift(full, dim=(-2, -1))
        mirrored = torch.roll(torch.flip(unshifted, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))  # B(-w)
        total += torch.fft.fftshift((unshifted**2 + mirrored**2).sum(0))
    assert float((total - 1).abs().max()) < 1e-6


def test_levels_shrink_and_bands_are_cropped() -> None:
    bank = filter_bank(128, 128, "octave")
    assert [tuple(lvl.filters.shape[-2:]) for lvl in bank.levels] == [
        (128, 128),
        (64, 64),
        (32, 32),
        (16, 16),
        (8, 8),
    ]
    assert bank.orientations == 4
    assert filter_bank(128, 128, "octave") is bank  # cached


def test_octave_pyramid_matches_pyrtools() -> None:
    pyrtools = pytest.importorskip("pyrtools")
    img = _image(64).numpy().astype(np.float64)
    ref = pyrtools.pyramids.SteerablePyramidFreq(img, height=4, order=3, twidth=1, is_complex=True)
    ours = SteerablePyramid(64, 64, "octave", levels=4).build(torch.as_tensor(img, dtype=torch.float32))
    for level, bands in enumerate(ours.bands):
        for b in range(4):
            theirs = ref.pyr_coeffs[(level, b)]
            mine = bands[0, b].numpy()
            if level == 0:
                expected, got = theirs, 2j * mine
            else:  # embed each level's DFT in the full grid (sizes differ between the two crops)
                expected = _embed(np.fft.fftshift(np.fft.fft2(theirs)), 64)
                got = 2j * _embed(np.fft.fftshift(np.fft.fft2(mine)), 64)
            assert np.linalg.norm(got - expected) / np.linalg.norm(expected) < 1e-4, (level, b)
    for key, mine in (("residual_highpass", ours.highpass), ("residual_lowpass", ours.lowpass)):
        theirs = ref.pyr_coeffs[key]
        if theirs.shape != (64, 64):
            theirs = np.real(np.fft.ifft2(np.fft.ifftshift(_embed(np.fft.fftshift(np.fft.fft2(theirs)), 64))))
        assert np.linalg.norm(mine[0].numpy() - theirs) / np.linalg.norm(theirs) < 1e-4, key


def _embed(spec: np.ndarray, n: int) -> np.ndarray:
    """Place a centred (fftshift-ed) spectrum in the middle of an ``n x n`` zero grid."""
    out = np.zeros((n, n), dtype=complex)
    h, w = spec.shape
    r, c = n // 2 - h // 2, n // 2 - w // 2
    out[r : r + h, c : c + w] = spec
    return out


def _temporal(delta: np.ndarray, fps: float, kw: dict) -> np.ndarray:
    """The temporal filter ``kw`` applied to a 1-D motion signal (what the phase sees, up to -k)."""
    if "f_low" not in kw:
        return delta
    x = torch.as_tensor(delta, dtype=torch.float32)[:, None]
    if kw["temporal_filter"] == "ideal":
        return ideal_bandpass(x, fps, kw["f_low"], kw["f_high"])[:, 0].numpy()
    return StreamFilter(kw["temporal_filter"], fps, kw["f_low"], kw["f_high"])(x)[:, 0].numpy()


FILTER_CASES = [
    {},
    {"f_low": 2.0, "f_high": 8.0, "temporal_filter": "ideal"},
    {"f_low": 1.0, "f_high": 10.0, "temporal_filter": "butterworth"},
    {"f_low": 1.0, "f_high": 10.0, "temporal_filter": "iir"},
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kw", FILTER_CASES, ids=["none", "ideal", "butterworth", "iir"])
def test_shift_law(kind: str, kw: dict) -> None:
    fps, alpha, t = 30.0, 10.0, 12
    delta = 0.3 * np.sin(2 * np.pi * 4.0 * np.arange(t) / fps)
    expected = delta + alpha * _temporal(delta, fps, kw)
    assert (1 + alpha) * np.abs(delta).max() < LAM / 4
    out = magnify(_grating(delta), fps=fps, alpha=alpha, pyramid=kind, chunk=5, **kw)
    got = _shift(out)
    assert np.abs(got - expected).max() <= 0.05 * np.abs(expected).max()
    assert np.abs(expected - delta).max() > 0.5 * alpha * np.abs(delta).max()  # really magnified


@pytest.mark.parametrize("kind", ["octave", "half-octave"])
def test_attenuate_gives_alpha_delta(kind: str) -> None:
    t, alpha = 10, 8.0
    delta = np.linspace(0, 0.3, t)
    got = _shift(magnify(_grating(delta), fps=30, alpha=alpha, pyramid=kind, attenuate=True))
    assert np.abs(got - alpha * delta).max() <= 0.05 * alpha * delta.max()


def test_attenuate_removes_out_of_band_motion() -> None:
    fps, t, alpha = 30.0, 30, 2.0
    delta = 0.3 * np.sin(2 * np.pi * 1.0 * np.arange(t) / fps)  # 1 Hz, outside the 5-12 Hz band
    kw = {"f_low": 5.0, "f_high": 12.0, "temporal_filter": "ideal"}
    kept = _shift(magnify(_grating(delta), fps=fps, alpha=alpha, **kw))
    removed = _shift(magnify(_grating(delta), fps=fps, alpha=alpha, attenuate=True, **kw))
    leak = alpha * _temporal(delta, fps, kw)  # what the edge-padded ideal filter lets through
    scale = np.abs(delta).max()
    assert np.abs(kept - (delta + leak)).max() < 0.05 * scale  # without: the base motion stays
    assert np.abs(removed - leak).max() < 0.05 * scale  # with: only the in-band part is left
    assert np.abs(removed).max() < 0.25 * scale


def test_wrap_phase() -> None:
    d = torch.linspace(-math.pi + 1e-4, math.pi - 1e-4, 1001, dtype=torch.float64)
    assert torch.equal(wrap_phase(d), d) or float((wrap_phase(d) - d).abs().max()) < 1e-12
    for k in (-3, -1, 1, 2):
        assert float((wrap_phase(d + 2 * math.pi * k) - d).abs().max()) < 1e-9
    assert float(wrap_phase(torch.tensor(3 * math.pi / 2))) == pytest.approx(-math.pi / 2)


@pytest.mark.parametrize("kind", ["ideal", "butterworth", "iir"])
def test_constant_phase_gives_zero_temporal_output(kind: str) -> None:
    x = torch.full((20, 3, 4), 0.7)
    y = ideal_bandpass(x, 30.0, 2.0, 8.0) if kind == "ideal" else StreamFilter(kind, 30.0, 2.0, 8.0)(x)
    assert float(y.abs().max()) < 1e-5


def test_ideal_bandpass_passes_band_and_stops_outside() -> None:
    fps, t = 100.0, 200
    tt = np.arange(t) / fps
    x = torch.as_tensor(
        np.stack([np.sin(2 * np.pi * 10 * tt), np.sin(2 * np.pi * 30 * tt)], axis=1), dtype=torch.float32
    )
    y = ideal_bandpass(x, fps, 5.0, 20.0).numpy()
    mid = slice(40, 160)
    assert np.abs(y[mid, 0] - x.numpy()[mid, 0]).max() < 0.05
    assert np.abs(y[mid, 1]).max() < 0.05


def test_default_band_frequency_response() -> None:
    """The shipped band (MagnifyParams: 5-25 Hz) at 200 fps: unit gain inside, zero outside."""
    p = MagnifyParams()
    fps, t = 200.0, 800
    tt = np.arange(t) / fps
    freqs = [1.0, 3.0, 7.0, 12.0, 20.0, 35.0, 60.0]
    x = torch.as_tensor(np.stack([np.sin(2 * np.pi * f * tt) for f in freqs], axis=1), dtype=torch.float32)
    y = ideal_bandpass(x, fps, p.f_low, p.f_high).numpy()
    mid = slice(200, 600)
    gain = np.sqrt((y[mid] ** 2).mean(axis=0) / (x.numpy()[mid] ** 2).mean(axis=0))
    expected = [1.0 if p.f_low <= f <= p.f_high else 0.0 for f in freqs]
    np.testing.assert_allclose(gain, expected, atol=0.03)


def test_lfilter_matches_scipy_across_chunks() -> None:
    b, a = scipy.signal.butter(2, [3.0, 9.0], btype="bandpass", fs=30.0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((25, 3))
    zi = scipy.signal.lfilter_zi(b, a)[:, None] * x[0]
    expected, _ = scipy.signal.lfilter(b, a, x, axis=0, zi=zi)
    xt, z = torch.as_tensor(x), torch.as_tensor(zi)
    y1, z = lfilter(b, a, xt[:10], z)
    y2, _ = lfilter(b, a, xt[10:], z)
    np.testing.assert_allclose(torch.cat([y1, y2]).numpy(), expected, atol=1e-10)


@pytest.mark.parametrize(
    "kw", FILTER_CASES[1:] + [{"sigma": 1.5}], ids=["ideal", "butterworth", "iir", "sigma"]
)
def test_chunking_does_not_change_the_result(kw: dict) -> None:
    rng = np.random.default_rng(1)
    clip = (rng.random((9, 32, 32)) * 255).astype(np.uint8)
    a = magnify(clip, fps=30, alpha=5, chunk=2, **kw)
    b = magnify(clip, fps=30, alpha=5, chunk=16, **kw)
    assert a.dtype == np.float32 and a.shape == clip.shape
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_sigma_smoothing_keeps_uniform_motion() -> None:
    delta = np.linspace(0, 0.25, 8)
    got = _shift(magnify(_grating(delta), fps=30, alpha=10, sigma=2.0))
    np.testing.assert_allclose(got, 11 * delta, atol=0.05 * 11 * 0.25)


def _plain_magnify(clip: torch.Tensor, kind: str, alpha: float) -> torch.Tensor:
    """The algorithm written out on the fftshift-ed grid (MAGNIFICATION.md steps 1-8, no filter)."""
    bank = filter_bank(*clip.shape[1:], kind)
    spec = torch.fft.fftshift(torch.fft.fft2(clip.double()), dim=(-2, -1))
    out = spec * bank.residual_gain.double()
    for lvl in bank.levels:
        filt = lvl.filters.double()
        box = spec[:, None, lvl.rows, lvl.cols] * filt
        bands = torch.fft.ifft2(torch.fft.ifftshift(box, dim=(-2, -1)))
        delta = wrap_phase(bands.angle() - bands[:1].angle())
        rotated = bands * torch.polar(torch.ones_like(delta), alpha * delta)
        band_spec = torch.fft.fftshift(torch.fft.fft2(rotated), dim=(-2, -1))
        out[:, lvl.rows, lvl.cols] += 2 * (band_spec * filt).sum(dim=1)
    return torch.fft.ifft2(torch.fft.ifftshift(out, dim=(-2, -1))).real


@pytest.mark.parametrize("kind,shape", [("octave", (48, 40)), ("half-octave", (40, 40))])
def test_magnify_equals_the_plain_formula(kind: str, shape: tuple[int, int]) -> None:
    """The fast path (unshifted boxes, atan2 of the product, cos/sin phasor) changes no output."""
    rng = np.random.default_rng(3)
    clip = torch.as_tensor(rng.random((5, *shape)) * 255, dtype=torch.float32)
    got = torch.as_tensor(magnify(clip, fps=30, alpha=15.0, pyramid=kind, chunk=2))
    expected = _plain_magnify(clip, kind, 15.0).float()
    assert float((got - expected).abs().max()) < 1e-2  # grey levels; float32 rounding is ~1e-3
    assert float((got - clip).abs().max()) > 10  # really magnified


def test_cpu_batches_are_capped_by_the_finest_level_size() -> None:
    from pipeline.magnify.core import batch_frames

    # finest octave level: 4 bands of 128x128 (0.5 MiB complex64 per frame) -> 8 frames in 4 MiB
    assert batch_frames(filter_bank(128, 128, "octave"), 16) == 8
    assert batch_frames(filter_bank(128, 128, "octave"), 3) == 3
    assert batch_frames(filter_bank(256, 256, "octave"), 16) == 2
    assert batch_frames(filter_bank(128, 128, "half-octave"), 16) == 4  # 8 bands


def test_params_round_trip_and_torch_input() -> None:
    params = MagnifyParams(
        alpha=3.0, pyramid="half-octave", sigma=1.0, f_low=None, f_high=None, phase_bound=None
    )
    clip = torch.as_tensor(_grating(np.linspace(0, 0.2, 4)))
    out = magnify(clip, fps=25, **dataclasses.asdict(params))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == clip.shape
    np.testing.assert_allclose(_shift(out.numpy()), 4 * np.linspace(0, 0.2, 4), atol=0.04)


@pytest.mark.parametrize(
    "frames,kw,match",
    [
        (np.zeros((4, 64)), {}, "shape"),
        (np.zeros((1, 64, 64)), {}, "at least 2"),
        (np.full((3, 64, 64), np.nan), {}, "NaN"),
        (np.zeros((3, 64, 64)), {"fps": 0.0}, "fps"),
        (np.zeros((3, 64, 64)), {"fps": -5.0}, "fps"),
        (np.zeros((3, 64, 64)), {"f_low": 1.0, "f_high": 15.0}, "f_high"),
        (np.zeros((3, 64, 64)), {"f_low": 1.0}, "f_low"),
        (np.zeros((3, 64, 64)), {"levels": 5}, "too small"),
        (np.zeros((3, 6, 6)), {}, "too small"),
        (np.zeros((3, 64, 64)), {"pyramid": "third-octave"}, "pyramid"),
        (np.zeros((3, 64, 64)), {"reference": 3}, "reference"),
        (np.zeros((3, 64, 64)), {"chunk": 0}, "chunk"),
    ],
)
def test_bad_input_raises(frames: np.ndarray, kw: dict, match: str) -> None:
    kw = {"fps": 30.0, "alpha": 5.0, **kw}
    with pytest.raises(ValueError, match=match):
        magnify(frames, **kw)


def test_write_strip(tmp_path) -> None:
    import matplotlib.image

    delta = np.linspace(0, 0.2, 6)
    raw = _grating(delta)
    out = tmp_path / "qc" / "strip.png"
    write_strip(out, raw, magnify(raw, fps=30, alpha=10), row=5, n_frames=3)
    img = matplotlib.image.imread(out)
    assert img.shape[:2] == (2 * N + 6 + 4, 3 * N + 4)
    assert [p.name for p in out.parent.iterdir()] == ["strip.png"]
    with pytest.raises(ValueError, match="row"):
        write_strip(out, raw, raw, row=N)


def test_bound_keeps_shifts_inside_it_and_limits_those_beyond() -> None:
    """Grating phase per pixel of shift is 2 pi / LAM; a bound of pi/2 allows magnified shifts up to LAM/4."""
    alpha, bound = 10.0, np.pi / 2
    inside = np.linspace(0, 0.2, 6)  # (1 + alpha) * 0.2 px = 2.2 px < LAM / 4
    assert (1 + alpha) * inside.max() < LAM / 4
    free = _shift(magnify(_grating(inside), fps=30, alpha=alpha))
    stats: dict = {}
    bounded = _shift(magnify(_grating(inside), fps=30, alpha=alpha, phase_bound=bound, stats=stats))
    np.testing.assert_allclose(bounded, free, atol=0.02)
    np.testing.assert_allclose(bounded, (1 + alpha) * inside, atol=0.05 * (1 + alpha) * inside.max())
    assert stats["total"] > 0 and stats["limited"] < 0.05 * stats["total"]

    beyond = np.array([0.0, 0.5, 1.0, -1.0, 2.0])  # (1 + alpha) * d would be 5.5-22 px, wrapping
    stats = {}
    got = _shift(magnify(_grating(beyond), fps=30, alpha=alpha, phase_bound=bound, stats=stats))
    assert np.all(np.abs(got) <= LAM / 4 + 0.1)  # no magnified shift past the bound
    assert np.all(np.sign(got[1:]) == np.sign(beyond[1:]))  # no sign flip
    assert np.all(np.abs(got[1:]) >= np.abs(beyond[1:]) - 0.05)  # never less than the motion itself
    assert stats["limited"] > 0
    unbounded = _shift(magnify(_grating(beyond), fps=30, alpha=alpha))
    assert np.any(np.sign(unbounded[1:]) != np.sign(beyond[1:])) or np.any(np.abs(unbounded) > LAM / 4 + 0.1)


def test_bound_validates() -> None:
    with pytest.raises(ValueError, match=r"MagnifyParams.phase_bound: must be a phase in radians > 0"):
        MagnifyParams(phase_bound=0.0)
