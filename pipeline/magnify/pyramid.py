"""Complex steerable pyramid built in the frequency domain (Wadhwa et al. 2013 filters).

Frequencies are normalised as in pyrtools / the MATLAB reference: on the ``fftshift``-ed DFT grid the
DC bin sits at index ``N // 2`` and ``f = (j - N // 2) / (N / 2)`` (1 = Nyquist). Each radial level ``k``
has ``K`` oriented one-sided bands ``B_kb(w) = R_k(|w|) A_b(angle w)``; a level is stored cropped to
the smallest FFT-friendly box around DC that holds its support, so the inverse FFT of a coarse level
runs on a small grid. The residual gain ``G = hi^2 + lo^2`` (high-pass and low-pass residuals) acts on
the full grid. With ``2 * sum_b B_kb^2`` on the bands, the real part of the reconstruction satisfies
``hi^2 + lo^2 + sum_kb (B_kb(w)^2 + B_kb(-w)^2) = 1`` (exactly for the tight kinds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

KINDS = ("octave", "half-octave", "smooth-half-octave", "quarter-octave")


@dataclass(frozen=True)
class PyramidKind:
    """Radial/angular design of one pyramid kind."""

    orientations: int
    per_octave: int  # radial bands per octave
    twidth: float  # raised-cosine transition width in octaves (0 = smooth cos^6 windows)


_KIND = {
    "octave": PyramidKind(orientations=4, per_octave=1, twidth=1.0),
    "half-octave": PyramidKind(orientations=8, per_octave=2, twidth=0.75),
    "smooth-half-octave": PyramidKind(orientations=8, per_octave=2, twidth=0.0),
    "quarter-octave": PyramidKind(orientations=8, per_octave=4, twidth=0.0),
}
_SUPPORT_EPS = 1e-7  # filter values below this are dropped when cropping to the support
_SMOOTH_ORDER = 6  # cos^6 radial windows for the smooth kinds


def max_levels(height: int, width: int) -> int:
    """Deepest pyramid (in octaves) for an image: ``floor(log2(min(H, W))) - 2`` (as pyrtools)."""
    return int(math.floor(math.log2(min(height, width)))) - 2


def _polar_grid(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Radius (Nyquist = 1) and angle on the fftshift-ed grid, float64 ``(H, W)`` each."""
    fy = (torch.arange(height, dtype=torch.float64) - height // 2) / (height / 2)
    fx = (torch.arange(width, dtype=torch.float64) - width // 2) / (width / 2)
    yy, xx = torch.meshgrid(fy, fx, indexing="ij")
    return torch.sqrt(xx**2 + yy**2), torch.atan2(yy, xx)


def _raised_cosine_pair(rad: torch.Tensor, r: float, twidth: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``hi = |cos(clip(log2(rad / r), -tw, 0) pi / (2 tw))|`` and ``lo = sqrt(1 - hi^2)``."""
    with torch.no_grad():
        logr = torch.log2(rad.clamp_min(1e-300)) - math.log2(r)
        hi = torch.cos(logr.clamp(-twidth, 0.0) * math.pi / (2 * twidth)).abs()
        hi = torch.where(rad == 0, torch.zeros_like(hi), hi)
        lo = torch.sqrt((1 - hi**2).clamp_min(0.0))
    return hi, lo


def _smooth_windows(
    rad: torch.Tensor, n_bands: int, per_octave: int
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Normalised cos^6 windows in log radius, centres ``-(k + 1) / per_octave`` octaves.

    Consecutive windows are ``pi / 7`` apart in the window argument, so the squared windows of the
    infinite lattice sum to one; the lattice members above the first band form the high-pass residual
    and those below the last band the low-pass residual. Returns (bands, hi, lo).
    """
    n = _SMOOTH_ORDER
    const = 2 ** (2 * n) * math.factorial(n) ** 2 / ((n + 1) * math.factorial(2 * n))
    step = math.pi / (n + 1)  # argument spacing between neighbouring windows
    u = torch.log2(rad.clamp_min(1e-300)) * per_octave  # in units of band spacing
    x = u * step

    def window(k: int) -> torch.Tensor:
        d = x + (k + 1) * step
        w = math.sqrt(const) * torch.cos(d) ** n * (d.abs() < math.pi / 2)
        return torch.where(rad == 0, torch.zeros_like(w), w)

    bands = [window(k) for k in range(n_bands)]
    reach = n // 2 + 1  # windows further away than this have no overlap with the grid's bands
    top = int(math.ceil(max(u.max().item(), 0.0))) + reach
    hi2 = sum(window(k) ** 2 for k in range(-top - 1, 0))
    bottom = int(math.ceil(-u[rad > 0].min().item())) + reach
    lo2 = sum(window(k) ** 2 for k in range(n_bands, bottom + 1))
    lo2 = torch.where(rad == 0, torch.ones_like(lo2), lo2)
    return bands, torch.sqrt(hi2), torch.sqrt(lo2)


def _angular(angle: torch.Tensor, b: int, orientations: int) -> torch.Tensor:
    """One-sided ``sqrt(c) cos^o(theta - pi b / K)`` on the half plane around ``pi b / K``."""
    order = orientations - 1
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (orientations * math.factorial(2 * order))
    d = torch.remainder(angle - math.pi * b / orientations + math.pi, 2 * math.pi) - math.pi
    return math.sqrt(const) * torch.cos(d) ** order * (d.abs() < math.pi / 2)


def _fft_size(n: int, limit: int) -> int:
    """Smallest even 2,3,5-smooth size >= n, capped at ``limit``."""
    m = max(2, n + (n % 2))
    while m < limit:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2
    return limit


@dataclass
class Level:
    """One radial level: filters ``(K, h, w)`` float32 on the fftshift-ed box ``rows x cols``.

    For the fast path (`analyze` / `synthesize_into`, on unshifted full spectra ``fft2(x)``) the same
    filters are kept in unshifted box order (DC at ``[0, 0]``) as real-view multipliers: ``analysis``
    ``(K, h, w, 1)`` and ``synthesis = 2 * analysis``; ``index`` ``(h * w,)`` holds the flat
    positions of the box in the ``(H, W)`` spectrum, or is None when the box is the whole grid.
    """

    rows: slice
    cols: slice
    filters: torch.Tensor
    analysis: torch.Tensor
    synthesis: torch.Tensor
    index: torch.Tensor | None


def _box_index(height: int, width: int, h: int, w: int) -> torch.Tensor | None:
    """Flat positions in an unshifted ``(H, W)`` spectrum of the unshifted ``h x w`` box around DC."""
    if (h, w) == (height, width):
        return None
    ky = torch.fft.ifftshift(torch.arange(h) - h // 2) % height
    kx = torch.fft.ifftshift(torch.arange(w) - w // 2) % width
    return (ky[:, None] * width + kx[None, :]).reshape(-1)


class FilterBank:
    """All filters of one pyramid for an ``(H, W)`` grid on one device (build with `filter_bank`)."""

    def __init__(self, height: int, width: int, kind: str, levels: int, device: torch.device) -> None:
        design = _KIND[kind]
        self.height, self.width, self.kind, self.depth = height, width, kind, levels
        self.orientations = design.orientations
        rad, angle = _polar_grid(height, width)
        n_bands = levels * design.per_octave
        if design.twidth > 0:
            radii = [2.0 ** (-k / design.per_octave) for k in range(n_bands + 1)]
            hi0, lo_prev = _raised_cosine_pair(rad, radii[0], design.twidth)
            radial = []
            for k in range(1, n_bands + 1):
                hi_k, lo_k = _raised_cosine_pair(rad, radii[k], design.twidth)
                radial.append(hi_k * lo_prev)
                lo_prev = lo_k
            hi, lo = hi0, lo_prev
        else:
            radial, hi, lo = _smooth_windows(rad, n_bands, design.per_octave)
        # On the Nyquist row/column of an even grid a one-sided band has no mirror partner, so the
        # real part cannot restore it: cut the bands there and hand their energy to the high-pass.
        nyquist = torch.zeros_like(rad, dtype=torch.bool)
        if height % 2 == 0:
            nyquist[0, :] = True
        if width % 2 == 0:
            nyquist[:, 0] = True
        cut = sum(rk**2 for rk in radial)
        hi = torch.sqrt(hi**2 + nyquist * cut)
        radial = [rk * ~nyquist for rk in radial]
        self.residual_hi = hi.to(device=device, dtype=torch.float32)
        self.residual_lo = lo.to(device=device, dtype=torch.float32)
        self.residual_gain = (hi**2 + lo**2).to(device=device, dtype=torch.float32)
        angular = torch.stack([_angular(angle, b, self.orientations) for b in range(self.orientations)])
        to_dev = lambda t: t.to(device=device, dtype=torch.float32).contiguous()  # noqa: E731
        self.levels: list[Level] = []
        for rk in radial:
            r_sup = rad[rk > _SUPPORT_EPS].max().item() * (1 + 1e-9)
            rows = self._box(height, r_sup)
            cols = self._box(width, r_sup)
            filt = rk[rows, cols] * angular[:, rows, cols]  # (K, h, w) float64, shifted box
            unshifted = torch.fft.ifftshift(filt, dim=(-2, -1))[..., None]
            index = _box_index(height, width, *filt.shape[-2:])
            self.levels.append(
                Level(
                    rows=rows,
                    cols=cols,
                    filters=to_dev(filt),
                    analysis=to_dev(unshifted),
                    synthesis=to_dev(2 * unshifted),
                    index=None if index is None else index.to(device),
                )
            )
        unshift = lambda g: to_dev(torch.fft.ifftshift(g, dim=(-2, -1)))  # noqa: E731
        self.gain, self.hi, self.lo = unshift(hi**2 + lo**2), unshift(hi), unshift(lo)

    @staticmethod
    def _box(n: int, r_sup: float) -> slice:
        """Centred slice of the fftshift-ed axis of length ``n`` that holds radius ``< r_sup``."""
        size = _fft_size(2 * int(math.ceil(r_sup * n / 2)), n - (n % 2))
        if size >= n - (n % 2):
            return slice(0, n)
        c = n // 2
        return slice(c - size // 2, c + size // 2)


@lru_cache(maxsize=16)
def _filter_bank_cached(height: int, width: int, kind: str, levels: int, device: str) -> FilterBank:
    return FilterBank(height, width, kind, levels, torch.device(device))


def filter_bank(
    height: int,
    width: int,
    kind: str = "octave",
    levels: int | None = None,
    device: torch.device | str | None = None,
) -> FilterBank:
    """Filters for an ``(H, W)`` grid, built once per (H, W, kind, levels, device) and cached.

    ``levels`` is the depth in octaves (default: the deepest allowed, ``max_levels``).
    """
    if kind not in _KIND:
        raise ValueError(f"pyramid: unknown kind {kind!r}; expected one of {KINDS}")
    deepest = max_levels(height, width)
    if levels is None:
        levels = deepest
    if deepest < 1 or not 1 <= levels <= deepest:
        raise ValueError(
            f"levels: image {height}x{width} is too small for a {levels}-level pyramid "
            f"(at most {deepest} levels; each side must be >= 4 * 2**levels)"
        )
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return _filter_bank_cached(height, width, kind, int(levels), str(dev))


@dataclass
class PyramidCoeffs:
    """Pyramid of a batch of images ``(B, H, W)``.

    ``bands[k]``: complex ``(B, K, h_k, w_k)`` (level k, cropped grid); ``highpass``/``lowpass``: real
    ``(B, H, W)`` residual images (``hi * x`` and ``lo * x`` in the frequency domain).
    """

    bands: list[torch.Tensor]
    highpass: torch.Tensor
    lowpass: torch.Tensor


def analyze(spec: torch.Tensor, lvl: Level) -> torch.Tensor:
    """Bands of one level from unshifted spectra ``fft2(x)`` ``(C, H, W)`` -> complex ``(C, K, h, w)``."""
    c = spec.shape[0]
    k, h, w = lvl.filters.shape
    box = spec if lvl.index is None else spec.reshape(c, -1).index_select(1, lvl.index)
    box = torch.view_as_real(box).reshape(c, 1, h, w, 2)
    return torch.fft.ifft2(torch.view_as_complex(box * lvl.analysis))


def synthesize_into(acc: torch.Tensor, lvl: Level, bands: torch.Tensor) -> None:
    """Add ``2 sum_b B_b FFT(band_b)`` of one level ``(C, K, h, w)`` into spectra ``acc`` ``(C, H, W)``.

    The real part of ``ifft2(acc)`` is the image; the one-sided bands need no mirrored copy.
    """
    spec = torch.view_as_real(torch.fft.fft2(bands))
    c, k = spec.shape[:2]
    if lvl.index is None:  # the box is the whole grid: accumulate in place
        acc_r = torch.view_as_real(acc)
        for b in range(k):
            acc_r.addcmul_(spec[:, b], lvl.synthesis[b])
        return
    z = spec[:, 0] * lvl.synthesis[0]
    for b in range(1, k):
        z.addcmul_(spec[:, b], lvl.synthesis[b])
    torch.view_as_real(acc).reshape(c, -1, 2).index_add_(1, lvl.index, z.reshape(c, -1, 2))


class SteerablePyramid:
    """Complex steerable pyramid (build / reconstruct) on ``(B, H, W)`` float tensors.

    Example::

        pyr = SteerablePyramid(128, 128, "octave")
        coeffs = pyr.build(images)          # images (B, 128, 128)
        again = pyr.reconstruct(coeffs)     # == images up to float error
    """

    def __init__(
        self,
        height: int,
        width: int,
        kind: str = "octave",
        levels: int | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.bank = filter_bank(height, width, kind, levels, device)

    def build(self, images: torch.Tensor) -> PyramidCoeffs:
        """Decompose ``(B, H, W)`` (or ``(H, W)``) images."""
        bank = self.bank
        x = images.to(device=bank.residual_gain.device, dtype=torch.float32)
        if x.ndim == 2:
            x = x[None]
        spec = torch.fft.fft2(x)
        return PyramidCoeffs(
            bands=[analyze(spec, lvl) for lvl in bank.levels],
            highpass=torch.fft.ifft2(spec * bank.hi).real,
            lowpass=torch.fft.ifft2(spec * bank.lo).real,
        )

    def reconstruct(self, coeffs: PyramidCoeffs) -> torch.Tensor:
        """Invert `build`: real ``(B, H, W)``."""
        bank = self.bank
        spec = torch.fft.fft2(coeffs.highpass) * bank.hi + torch.fft.fft2(coeffs.lowpass) * bank.lo
        for lvl, band in zip(bank.levels, coeffs.bands):
            synthesize_into(spec, lvl, band)
        return torch.fft.ifft2(spec).real
