"""Temporal filters for phase signals, on torch tensors with time as the first axis.

Ideal band-pass needs the whole time axis (`ideal_bandpass`); the causal IIR filters run in chunks
with their state carried over (`StreamFilter`), so they never hold more than one chunk.
"""

from __future__ import annotations

import math

import numpy as np
import torch

FILTERS = ("ideal", "butterworth", "iir")


def wrap_phase(d: torch.Tensor) -> torch.Tensor:
    """Wrap phase to ``[-pi, pi)``: ``mod(pi + d, 2 pi) - pi`` (identity on ``(-pi, pi)``)."""
    return torch.remainder(d + math.pi, 2 * math.pi) - math.pi


def ideal_bandpass(
    x: torch.Tensor, fps: float, f_low: float, f_high: float, block: int = 1 << 20
) -> torch.Tensor:
    """Ideal FFT band-pass keeping ``f_low <= |f| <= f_high`` Hz along axis 0.

    x: ``(T, ...)`` float. The clip is padded with ``T`` copies of its first and last frames before the
    FFT so the circular filter does not wrap the end onto the start. Works on column blocks of
    ``block`` elements to bound the temporary memory. Returns a new ``(T, ...)`` tensor.
    """
    t = x.shape[0]
    flat = x.reshape(t, -1)
    out = torch.empty_like(flat)
    n = 3 * t
    freqs = torch.fft.rfftfreq(n, d=1.0 / fps).to(x.device)
    keep = ((freqs >= f_low) & (freqs <= f_high)).to(x.dtype)[:, None]
    step = max(1, block // n)
    for c in range(0, flat.shape[1], step):
        col = flat[:, c : c + step]
        padded = torch.cat([col[:1].expand(t, -1), col, col[-1:].expand(t, -1)])
        spec = torch.fft.rfft(padded, dim=0) * keep
        out[:, c : c + step] = torch.fft.irfft(spec, n=n, dim=0)[t : 2 * t]
    return out.reshape(x.shape)


def butterworth_coeffs(order: int, fps: float, f_low: float, f_high: float) -> tuple[np.ndarray, np.ndarray]:
    """Digital Butterworth band-pass ``(b, a)`` (scipy design; low-pass when ``f_low == 0``)."""
    import scipy.signal  # here, not at the top: it adds about 0.9 s to every command's start

    if f_low == 0:
        return scipy.signal.butter(order, f_high, btype="lowpass", fs=fps)
    return scipy.signal.butter(order, [f_low, f_high], btype="bandpass", fs=fps)


def lfilter(
    b: np.ndarray, a: np.ndarray, x: torch.Tensor, zi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Direct-form II transposed IIR filter along axis 0, like ``scipy.signal.lfilter``.

    x: ``(T, ...)``; zi: ``(n - 1, ...)`` state with ``n = max(len(a), len(b))``. Returns (y, zf).
    """
    b = np.asarray(b, dtype=np.float64) / a[0]
    a = np.asarray(a, dtype=np.float64) / a[0]
    n = max(len(a), len(b))
    b = np.pad(b, (0, n - len(b)))
    a = np.pad(a, (0, n - len(a)))
    z = [zi[i].clone() for i in range(n - 1)]
    y = torch.empty_like(x)
    for t in range(x.shape[0]):
        xt = x[t]
        yt = z[0] + float(b[0]) * xt if n > 1 else float(b[0]) * xt
        for i in range(n - 2):
            z[i] = z[i + 1] + float(b[i + 1]) * xt - float(a[i + 1]) * yt
        if n > 1:
            z[n - 2] = float(b[n - 1]) * xt - float(a[n - 1]) * yt
        y[t] = yt
    return y, torch.stack(z) if z else zi


class StreamFilter:
    """Causal temporal filter applied chunk by chunk along axis 0, state carried between calls.

    kind "butterworth": `lfilter` with scipy's Butterworth design, state initialised to the steady
    state of the first sample (a constant signal gives zero output). kind "iir": difference of two
    one-pole low-passes ``y = lp(f_high) - lp(f_low)``, ``lp += r (x - lp)``, ``r = 1 - exp(-2 pi f / fps)``,
    both started at the first sample.
    """

    def __init__(self, kind: str, fps: float, f_low: float, f_high: float, order: int = 1) -> None:
        if kind not in ("butterworth", "iir"):
            raise ValueError(f"temporal_filter: {kind!r} cannot run in chunks")
        self.kind = kind
        self.state: torch.Tensor | list[torch.Tensor] | None = None
        if kind == "butterworth":
            self.b, self.a = butterworth_coeffs(order, fps, f_low, f_high)
            import scipy.signal

            self.zi = scipy.signal.lfilter_zi(self.b, self.a)
        else:
            self.r_high = 1 - math.exp(-2 * math.pi * f_high / fps)
            self.r_low = 1 - math.exp(-2 * math.pi * f_low / fps)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Filter the next chunk ``(C, ...)``; returns ``(C, ...)``."""
        if self.kind == "butterworth":
            if self.state is None:
                zi = torch.as_tensor(self.zi, dtype=x.dtype, device=x.device)
                self.state = zi.reshape(-1, *([1] * (x.ndim - 1))) * x[0]
            y, self.state = lfilter(self.b, self.a, x, self.state)
            return y
        if self.state is None:
            self.state = [x[0].clone(), x[0].clone()]
        hi, lo = self.state
        y = torch.empty_like(x)
        for t in range(x.shape[0]):
            hi = hi + self.r_high * (x[t] - hi)
            lo = lo + self.r_low * (x[t] - lo)
            y[t] = hi - lo
        self.state = [hi, lo]
        return y
