"""Phase-based video magnification (Wadhwa et al. 2013) on `(T, H, W)` clips, CPU or CUDA.

Per frame chunk: FFT, complex steerable pyramid (cropped levels), phase difference of every band to
the reference frame, temporal filter, optional amplitude-weighted smoothing, rotation of each band by
``exp(i alpha delta)``, reconstruction with the residuals kept. With no band-pass (``f_low`` and
``f_high`` None) or a causal filter ("butterworth", "iir") one pass over the chunks does everything
and the working memory is set by ``chunk``. The "ideal" band-pass needs each band's whole time axis:
it holds every level's phase differences for all frames (float32, about 1.33 x the finest level's
bands per frame), two FFT passes over the frames.

Speed (CPU and CUDA alike): spectra stay unshifted, so the finest level (whose box is the whole grid)
needs no gather or scatter and coarser boxes are one ``index_select`` / ``index_add_``; all frames of
a chunk and all orientations of a level go through one batched ``ifft2``/``fft2``; the phase
difference is ``atan2`` of ``band * conj(ref)`` (one atan2 per coefficient, no separate wrap) and the
rotation is built from ``cos``/``sin`` (``angle`` and ``polar`` on complex tensors are not vectorised
on CPU and cost several times more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.magnify.pyramid import KINDS, FilterBank, analyze, filter_bank, max_levels, synthesize_into
from pipeline.magnify.temporal import FILTERS, StreamFilter, ideal_bandpass
from pipeline.validation import require


@dataclass(frozen=True)
class MagnifyParams:
    """Settings of `magnify` (all but the clip's ``fps``, its phase ``reference`` frame, chosen per clip,
    and the runtime ``device``/``chunk``).

    ``magnify(frames, fps=fps, **dataclasses.asdict(params))`` is the intended call. The defaults are
    the shipped ones (docs/INTERNALS.md "Magnification defaults" gives each one's source and what was
    measured): alpha 15 (the AKMNet release); the phase band-passed in time, ideal filter, 5 to 25 Hz
    (a micro-expression lasts 1/25 to 1/5 s; 25 Hz is below the Nyquist frequency of every dataset,
    60 fps CASME I included); a phase bound of pi / 2 (the lambda / 4 limit of Wadhwa et al.). ``f_low``
    and ``f_high`` None: no temporal filter (the whole phase change since the reference frame is
    amplified); ``phase_bound`` None: no bound.
    """

    alpha: float = 15.0
    f_low: float | None = 5.0
    f_high: float | None = 25.0
    pyramid: str = "octave"
    temporal_filter: str = "ideal"
    sigma: float = 0.0
    attenuate: bool = False
    levels: int | None = None
    butter_order: int = 1
    phase_bound: float | None = math.pi / 2

    def __post_init__(self) -> None:
        own = "MagnifyParams"
        require(math.isfinite(self.alpha), own, "alpha", "must be finite", self.alpha)
        require(self.pyramid in KINDS, own, "pyramid", f"must be one of {KINDS}", self.pyramid)
        require(
            self.temporal_filter in FILTERS,
            own,
            "temporal_filter",
            f"must be one of {FILTERS}",
            self.temporal_filter,
        )
        missing, given = ("f_high", "f_low") if self.f_high is None else ("f_low", "f_high")
        require(
            (self.f_low is None) == (self.f_high is None),
            own,
            missing,
            f"must be given together with {given} (both: band-pass; neither: no temporal filter)",
            None,
        )
        if self.f_low is not None:
            require(self.f_low >= 0, own, "f_low", "must be >= 0", self.f_low)
            require(
                self.f_high > self.f_low, own, "f_high", f"must be above f_low = {self.f_low}", self.f_high
            )
        require(math.isfinite(self.sigma) and self.sigma >= 0, own, "sigma", "must be >= 0", self.sigma)
        require(self.levels is None or self.levels >= 1, own, "levels", "must be >= 1 or None", self.levels)
        require(self.butter_order >= 1, own, "butter_order", "must be >= 1", self.butter_order)
        require(
            self.phase_bound is None or (math.isfinite(self.phase_bound) and self.phase_bound > 0),
            own,
            "phase_bound",
            "must be a phase in radians > 0, or None (no bound)",
            self.phase_bound,
        )

    @property
    def bandpass(self) -> bool:
        return self.f_low is not None

    def check_fps(self, fps: float) -> None:
        """Validate the settings against a frame rate: the band must lie below its Nyquist frequency."""
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps: must be > 0, got {fps}")
        if self.bandpass and self.f_high >= fps / 2:
            raise ValueError(
                f"f_high: must be below the Nyquist frequency fps / 2 = {fps / 2}, got {self.f_high}"
            )

    def check_clip(self, fps: float, shape: tuple[int, ...], reference: int = 0) -> None:
        """Validate the settings against a clip ``(T, H, W)`` at ``fps`` whose phase reference is frame
        ``reference``."""
        self.check_fps(fps)
        t, h, w = shape
        if not 0 <= reference < t:
            raise ValueError(f"reference: frame {reference} is outside the clip of {t} frames")
        deepest = max_levels(h, w)
        if deepest < 1 or (self.levels is not None and self.levels > deepest):
            raise ValueError(
                f"frames: {h}x{w} images are too small for a {self.levels or 1}-level pyramid "
                f"(at most {max(deepest, 0)} levels; each side needs >= 4 * 2**levels pixels)"
            )


def _check_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate ``(T, H, W)`` frames; returns them as a tensor (no copy for numpy/torch input)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"frames: expected a numpy array or torch tensor, got {type(frames).__name__}")
    if x.ndim != 3:
        raise ValueError(f"frames: expected shape (T, H, W), got {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"frames: need at least 2 frames, got {x.shape[0]}")
    if x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"frames: expected uint8 or real float values, got {x.dtype}")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError("frames: contain NaN or infinite values")
    return x


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable circular Gaussian blur over the last two axes of ``(..., h, w)``."""
    shape = x.shape
    h, w = shape[-2:]
    radius = min(int(math.ceil(3 * sigma)), (min(h, w) - 1) // 2)
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    y = x.reshape(-1, 1, h, w)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="circular"), k.view(1, 1, -1, 1))
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="circular"), k.view(1, 1, 1, -1))
    return y.reshape(shape)


@dataclass
class _Reference:
    """Reference-frame bands of one level, ``(1, K, h, w)`` complex: conjugate and unit phasor."""

    conj: torch.Tensor
    unit: torch.Tensor

    @classmethod
    def of(cls, bands: torch.Tensor) -> _Reference:
        return cls(
            conj=bands.conj().resolve_conj(), unit=torch.polar(torch.ones_like(bands.real), bands.angle())
        )


def _phase_delta(bands: torch.Tensor, ref: _Reference) -> torch.Tensor:
    """Phase of ``(C, K, h, w)`` bands relative to the reference, wrapped to ``(-pi, pi]`` (one atan2).

    ``atan2`` runs on contiguous real/imaginary parts: its vectorised kernel is several times faster
    than ``angle`` of a complex tensor on CPU.
    """
    prod = torch.view_as_real(bands * ref.conj)
    return prod[..., 1].contiguous().atan2_(prod[..., 0].contiguous())


def _rotate(
    bands: torch.Tensor, delta: torch.Tensor, ref: _Reference, p: MagnifyParams, stats: dict | None = None
) -> torch.Tensor:
    """Magnify one level: ``(C, K, h, w)`` complex bands (overwritten), filtered phase ``delta``.

    Returns ``bands * exp(i alpha delta)``, or ``|bands| exp(i (ref_phase + alpha delta))`` with
    ``attenuate``; the phasor is built from ``cos``/``sin`` (vectorised, unlike ``torch.polar``).
    With ``p.phase_bound``, each coefficient's added phase is limited so that its magnified phase change
    (``delta + added``; ``added`` alone with ``attenuate``) stays within the bound: past it the
    amplification of that coefficient is reduced, never reversed (a phase already past the bound
    gets nothing added). ``stats["limited"]``/``stats["total"]`` add up the amplitude of the limited
    coefficients and of all coefficients (their ratio: the share of the signal the bound limited).
    """
    amp = bands.abs() if p.sigma > 0 or p.attenuate else None
    if p.sigma > 0:
        delta = _gaussian_blur(delta * amp, p.sigma) / (_gaussian_blur(amp, p.sigma) + 1e-12)
    angle = delta * p.alpha
    if p.phase_bound is not None:
        reach = (
            torch.full_like(delta, p.phase_bound)
            if p.attenuate
            else (p.phase_bound - delta.abs()).clamp_min_(0)
        )
        if stats is not None:  # amplitude-weighted: empty bands' noisy phases do not count
            weight = amp if amp is not None else bands.abs()
            stats["limited"] = stats.get("limited", 0.0) + float((weight * (angle.abs() > reach)).sum())
            stats["total"] = stats.get("total", 0.0) + float(weight.sum())
        angle = torch.maximum(torch.minimum(angle, reach), -reach)
    cos = torch.cos(angle)
    sin = angle.sin_()
    if p.attenuate:
        return torch.complex(cos.mul_(amp), sin.mul_(amp)).mul_(ref.unit)
    return bands.mul_(torch.complex(cos, sin))


_CPU_BATCH_BYTES = 4 << 20  # finest level's bands per CPU batch: cache-sized temporaries run faster


def batch_frames(bank: FilterBank, chunk: int) -> int:
    """Frames `magnify` processes together: ``chunk``, capped on CPU so the finest level's bands
    ``(C, K, h, w)`` complex64 stay within ~4 MiB (larger batches measured slower: cache misses and
    page faults on fresh multi-megabyte temporaries). The result does not depend on it."""
    if bank.gain.device.type != "cpu":
        return chunk
    per_frame = bank.levels[0].filters.numel() * 8
    return max(1, min(chunk, _CPU_BATCH_BYTES // per_frame))


def magnify(
    frames: np.ndarray | torch.Tensor,
    *,
    fps: float,
    alpha: float,
    f_low: float | None = None,
    f_high: float | None = None,
    pyramid: str = "octave",
    temporal_filter: str = "ideal",
    sigma: float = 0.0,
    attenuate: bool = False,
    reference: int = 0,
    levels: int | None = None,
    butter_order: int = 1,
    phase_bound: float | None = None,
    device: torch.device | str | None = None,
    chunk: int = 16,
    stats: dict | None = None,
) -> np.ndarray | torch.Tensor:
    """Phase-based motion magnification of a grayscale clip.

    The keyword defaults are the bare method (no temporal filter, no phase bound); the shipped
    settings are `MagnifyParams`' defaults, passed as ``**asdict(params)``.

    frames: ``(T, H, W)`` uint8 or float, numpy or torch. Returns float32 ``(T, H, W)`` in the input's
    scale (not clipped), numpy for numpy input, otherwise a tensor on the input's device.
    ``f_low``/``f_high`` None: the wrapped phase difference to frame ``reference`` is amplified (the
    transient setting for micro-expressions); otherwise it is band-passed in time first with
    ``temporal_filter`` ("ideal", "butterworth" of ``butter_order``, or "iir"). ``sigma``: amplitude-
    weighted Gaussian smoothing of the phase, in pixels of each level. ``attenuate``: rebuild each band
    from its amplitude and the reference phase, removing motion outside the temporal band.
    ``levels``: pyramid depth in octaves (default: deepest). ``device``: where to compute (default: the
    input tensor's device, CPU for numpy). ``chunk``: at most this many frames are processed together
    (sets peak memory; on CPU batches are further capped by `batch_frames`). ``phase_bound``: the largest
    magnified phase change of any coefficient, radians (None: none; see ``_rotate``). ``stats``: a dict
    that receives the amplitude sums ``limited`` and ``total`` when ``phase_bound`` is set.
    """
    p = MagnifyParams(
        alpha, f_low, f_high, pyramid, temporal_filter, sigma, attenuate, levels, butter_order, phase_bound
    )
    x = _check_frames(frames)
    p.check_clip(fps, tuple(x.shape), reference)
    if chunk < 1:
        raise ValueError(f"chunk: must be >= 1, got {chunk}")
    dev = torch.device(device) if device is not None else x.device
    t, h, w = x.shape
    bank = filter_bank(h, w, p.pyramid, p.levels, dev)
    out = torch.empty((t, h, w), dtype=torch.float32, device=x.device)

    def spectra(start: int, stop: int) -> torch.Tensor:
        return torch.fft.fft2(x[start:stop].to(device=dev, dtype=torch.float32))

    ref_spec = spectra(reference, reference + 1)
    refs = [_Reference.of(analyze(ref_spec, lvl)) for lvl in bank.levels]
    step = batch_frames(bank, chunk)
    chunks = [(s, min(s + step, t)) for s in range(0, t, step)]
    if not p.bandpass or p.temporal_filter != "ideal":
        _magnify_streaming(spectra, chunks, bank, refs, p, fps, out, stats)
    else:
        _magnify_ideal(spectra, chunks, bank, refs, p, fps, out, stats)
    return out.numpy() if isinstance(frames, np.ndarray) else out


def _magnify_streaming(
    spectra,
    chunks,
    bank: FilterBank,
    refs: list[_Reference],
    p: MagnifyParams,
    fps: float,
    out: torch.Tensor,
    stats: dict | None = None,
) -> None:
    """One pass over the chunks; causal temporal filters keep their state between chunks."""
    stream = [
        StreamFilter(p.temporal_filter, fps, p.f_low, p.f_high, p.butter_order) if p.bandpass else None
        for _ in bank.levels
    ]
    for start, stop in chunks:
        spec = spectra(start, stop)
        acc = spec * bank.gain
        for lvl, ref, filt in zip(bank.levels, refs, stream):
            bands = analyze(spec, lvl)
            delta = _phase_delta(bands, ref)
            if filt is not None:
                delta = filt(delta)
            synthesize_into(acc, lvl, _rotate(bands, delta, ref, p, stats))
        out[start:stop] = torch.fft.ifft2(acc).real.to(out.device)


def _magnify_ideal(
    spectra,
    chunks,
    bank: FilterBank,
    refs: list[_Reference],
    p: MagnifyParams,
    fps: float,
    out: torch.Tensor,
    stats: dict | None = None,
) -> None:
    """Ideal band-pass: collect every level's phase differences for all frames (one FFT per frame),
    filter them along time, then rotate and reconstruct (a second FFT per frame)."""
    t = chunks[-1][1]
    deltas = [
        torch.empty((t, *ref.conj.shape[1:]), dtype=torch.float32, device=ref.conj.device) for ref in refs
    ]
    for start, stop in chunks:
        spec = spectra(start, stop)
        for lvl, ref, delta in zip(bank.levels, refs, deltas):
            delta[start:stop] = _phase_delta(analyze(spec, lvl), ref)
    for i in range(len(deltas)):  # one level at a time: the unfiltered copy is freed as we go
        deltas[i] = ideal_bandpass(deltas[i], fps, p.f_low, p.f_high)
    for start, stop in chunks:
        spec = spectra(start, stop)
        acc = spec * bank.gain
        for lvl, ref, delta in zip(bank.levels, refs, deltas):
            synthesize_into(acc, lvl, _rotate(analyze(spec, lvl), delta[start:stop], ref, p, stats))
        out[start:stop] = torch.fft.ifft2(acc).real.to(out.device)
