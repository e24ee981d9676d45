"""Benchmark of pipeline.magnify: frames/s per pyramid kind, bare-FFT bound, pyrtools baseline, memory.

    python benchmarks/magnify.py --device cpu --frames 64 --sizes 128 256 --out bench_magnify.json

Writes JSON to ``--out`` and a markdown table next to it (same name, ``.md``). Settings timed: the
shipped defaults (`MagnifyParams()`: alpha 15, ideal temporal band-pass 5-25 Hz at 200 fps, phase bound
pi / 2) and, for the band-pass's cost, the bare method (no band, no bound). "bare FFT" times only the torch.fft calls
the algorithm makes (same sizes, counts and batching), alternating with the magnify runs; both report
the best of ``--repeats``. The pyrtools baselines are implementations of the same octave pipeline
(shipped settings) on pyrtools' SteerablePyramidFreq, one pyramid per frame: as pyrtools reconstructs,
and projected one-sided so the output equals ours (`pyrtools_magnify`). Memory: a child process magnifies a long 128x128 clip with
each ``--chunks`` setting and reports its RSS after imports, after making the clip, and its peak
(on CPU magnify caps its batches at `batch_frames`, 8 frames for 128x128 octave, so larger chunks
change nothing there).

On a machine shared with other jobs, ``--threads 1`` gives repeatable figures: with 2 intra-op threads
and a busy second core every parallel torch call (each FFT, each element-wise pass) can wait a
scheduler time slice (~10-16 ms) for its second thread, which swamps the per-call work at these sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from pipeline.magnify import KINDS, MagnifyParams, filter_bank, magnify
from pipeline.magnify.core import batch_frames
from pipeline.magnify.temporal import ideal_bandpass

FPS = 200.0
SHIPPED = MagnifyParams()
ALPHA = SHIPPED.alpha
#: the settings timed: the shipped defaults and the bare method (no temporal band, no phase bound)
SETTINGS = {"shipped": SHIPPED, "bare": replace(SHIPPED, f_low=None, f_high=None, phase_bound=None)}


def settings(name: str, kind: str) -> dict:
    """Keyword arguments of `magnify` for setting ``name`` with pyramid ``kind``."""
    return asdict(replace(SETTINGS[name], pyramid=kind))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _clip(frames: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture with small sub-pixel motion (like an aligned face), uint8 ``(T, S, S)``."""
    from scipy.ndimage import gaussian_filter, shift

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.random((size, size)) * 255, 2.0, mode="wrap")
    base = 128 + (base - base.mean()) * 100 / base.std()
    moves = 0.2 * np.sin(np.linspace(0, np.pi, frames))
    clip = np.empty((frames, size, size), dtype=np.uint8)  # filled frame by frame: no float64 clip
    for t, m in enumerate(moves):
        clip[t] = shift(base, (0.5 * m, m), mode="wrap").clip(0, 255)
    return clip


def _timed(run, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    run()
    _sync(device)
    return time.perf_counter() - t0


def bare_fft(frames: int, size: int, kind: str, device: str, chunk: int):
    """A callable running only the FFTs magnify runs, with its sizes and batching.

    Per chunk: ``fft2`` of the frames, ``ifft2`` + ``fft2`` of every level's bands ``(C, K, h, w)``,
    ``ifft2`` of the result.
    """
    bank = filter_bank(size, size, kind, device=device)
    chunk = batch_frames(bank, chunk)  # the batches magnify really uses
    frames_in = torch.randn(chunk, size, size, device=device)
    levels = [
        torch.randn(chunk, *lvl.filters.shape, dtype=torch.complex64, device=device) for lvl in bank.levels
    ]

    def run() -> None:
        for _ in range(0, frames, chunk):
            spec = torch.fft.fft2(frames_in)
            for z in levels:
                torch.fft.fft2(torch.fft.ifft2(z))
            torch.fft.ifft2(spec)

    return run


def time_case(
    clip: np.ndarray, kind: str, device: str, chunk: int, repeats: int
) -> tuple[float, float, float]:
    """Best-of-``repeats`` seconds of one magnify call at the shipped settings, at the bare ones, and
    of the bare FFT work, timed alternately (so all see the same machine load); one untimed warm-up
    call of each first (filters cached)."""
    x = torch.from_numpy(clip).to(device)

    def run(name: str):
        return lambda: magnify(x, fps=FPS, device=device, chunk=chunk, **settings(name, kind))

    calls = [run("shipped"), run("bare"), bare_fft(clip.shape[0], clip.shape[1], kind, device, chunk)]
    for call in calls:
        call()
    times = [[_timed(call, device) for call in calls] for _ in range(repeats)]
    return tuple(min(t[i] for t in times) for i in range(3))


def _half_planes(shape: tuple[int, int], orientations: int) -> np.ndarray:
    """Indicators ``(K, h, w)`` of the open half planes ``|angle - pi b / K| < pi / 2`` on the
    fftshift-ed grid (the support of band b's one-sided angular mask)."""
    h, w = shape
    fy = (np.arange(h) - h // 2)[:, None]
    fx = (np.arange(w) - w // 2)[None, :]
    angle = np.arctan2(fy * np.ones_like(fx), fx * np.ones_like(fy))
    d = [np.mod(angle - np.pi * b / orientations + np.pi, 2 * np.pi) - np.pi for b in range(orientations)]
    return np.stack([np.abs(x) < np.pi / 2 for x in d])


def pyrtools_magnify(clip: np.ndarray, params: MagnifyParams, one_sided: bool) -> np.ndarray:
    """Octave magnification on pyrtools, one pyramid per frame (reference frame 0; ``params``' band,
    bound and alpha; no smoothing or attenuation).

    pyrtools builds every frame's pyramid; ``delta``, the wrapped phase difference to frame 0, is
    band-passed in time (the same ideal filter as ours), limited by the phase bound as ours, and each
    band is rotated by ``exp(i alpha delta)``. pyrtools' ``recon_pyr`` reconstructs from the real part of
    each band with its two-sided mask; with ``one_sided`` each rotated band is first projected on its
    orientation's half plane (FFT, mask, inverse FFT), which makes that reconstruction equal to ours
    (``2 B(w)`` on the band's spectrum, real part). Without it the phase rotation's leakage into the
    other half plane is reconstructed too, and the outputs differ by tens of grey levels at alpha 15.
    """
    from pyrtools.pyramids import SteerablePyramidFreq

    def pyr(img: np.ndarray) -> SteerablePyramidFreq:
        return SteerablePyramidFreq(img.astype(np.float64), order=3, twidth=1, is_complex=True)

    pyrs = [pyr(frame) for frame in clip]
    planes: dict[tuple[int, int], np.ndarray] = {}
    for key in [k for k in pyrs[0].pyr_coeffs if isinstance(k, tuple)]:
        bands = np.stack([p.pyr_coeffs[key] for p in pyrs])  # (T, h, w)
        delta = np.mod(np.pi + np.angle(bands) - np.angle(bands[0]), 2 * np.pi) - np.pi
        if params.bandpass:
            delta = ideal_bandpass(torch.from_numpy(delta), FPS, params.f_low, params.f_high).numpy()
        angle = params.alpha * delta
        if params.phase_bound is not None:
            reach = np.clip(params.phase_bound - np.abs(delta), 0, None)
            angle = np.clip(angle, -reach, reach)
        for p, band, a in zip(pyrs, bands, angle):
            band = band * np.exp(1j * a)
            if one_sided:
                if band.shape not in planes:
                    planes[band.shape] = np.fft.ifftshift(_half_planes(band.shape, 4), axes=(-2, -1))
                band = np.fft.ifft2(np.fft.fft2(band) * planes[band.shape][key[1]])
            p.pyr_coeffs[key] = band
    return np.stack([p.recon_pyr() for p in pyrs]).astype(np.float32)


def peak_rss_mb(frames: int, size: int, chunk: int, setting: str, threads: int) -> dict:
    """RSS (MiB) of a child process that magnifies a ``frames``-long clip with ``chunk`` (octave
    pyramid, settings ``setting``: "shipped" or "bare").

    Returns ``baseline`` (current RSS after imports), ``with_clip`` (after making the input clip)
    and ``peak`` (max RSS over the run).
    """
    cmd = [sys.executable, __file__, "--memory-child", str(frames), str(size), str(chunk), setting]
    cmd += ["--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _memory_child(frames: int, size: int, chunk: int, setting: str) -> None:
    baseline = _current_rss_mb()
    clip = _clip(frames, size)
    with_clip = _current_rss_mb()
    magnify(clip, fps=FPS, chunk=chunk, **settings(setting, "octave"))
    print(json.dumps({"baseline": baseline, "with_clip": with_clip, "peak": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """Peak RSS of this process (MiB): VmHWM on Linux (reset by exec, unlike ``ru_maxrss``, which a
    child started by fork + exec inherits from its parent)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per case; the best is reported")
    ap.add_argument(
        "--pyrtools-frames", type=int, default=16, help="frames for the (slow) pyrtools baseline; 0 skips it"
    )
    ap.add_argument("--memory-frames", type=int, default=1000, help="0 skips the memory runs")
    ap.add_argument("--chunks", type=int, nargs="+", default=[8], help="chunk settings for the memory runs")
    ap.add_argument("--out", type=Path, default=None, help="JSON output; a .md table is written next to it")
    ap.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        f, s, c, k = args.memory_child
        _memory_child(int(f), int(s), int(c), k)
        return {}
    result: dict = {
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "frames": args.frames,
        "settings": {name: asdict(p) for name, p in SETTINGS.items()},
        "chunk": args.chunk,
        "repeats": args.repeats,
        "rows": [],
        "memory": [],
    }
    for size in args.sizes:
        clip = _clip(args.frames, size)
        for kind in args.kinds:
            secs, bare, fft = time_case(clip, kind, args.device, args.chunk, args.repeats)
            row = {
                "size": size,
                "kind": kind,
                "fps": args.frames / secs,
                "seconds": secs,
                "bare_method_seconds": bare,
                "bandpass_cost": secs / bare - 1,
                "bare_fft_seconds": fft,
                "ratio_to_fft": secs / fft,
            }
            if kind == "octave" and args.pyrtools_frames > 0 and args.device == "cpu":
                n = min(args.pyrtools_frames, args.frames)
                ours = magnify(clip[:n], fps=FPS, **settings("shipped", "octave"))
                for name, one_sided in (("pyrtools", False), ("pyrtools_one_sided", True)):
                    t0 = time.perf_counter()
                    theirs = pyrtools_magnify(clip[:n], SHIPPED, one_sided)
                    per_frame = (time.perf_counter() - t0) / n
                    row.update(
                        {
                            f"{name}_fps": 1 / per_frame,
                            f"speedup_vs_{name}": per_frame * args.frames / secs,
                            f"max_abs_diff_vs_{name}": float(np.abs(ours - theirs).max()),
                        }
                    )
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
    if args.memory_frames > 0:
        in_out_mb = args.memory_frames * 128 * 128 * 5 / 2**20
        for setting, chunk in [(s, c) for s in SETTINGS for c in args.chunks]:
            rss = peak_rss_mb(args.memory_frames, 128, chunk, setting, torch.get_num_threads())
            mem = {
                "frames": args.memory_frames,
                "size": 128,
                "chunk": chunk,
                "setting": setting,
                "baseline_rss_mib": rss["baseline"],
                "peak_rss_mib": rss["peak"],
                "peak_minus_baseline_mib": rss["peak"] - rss["baseline"],
                "input_plus_output_mib": in_out_mb,
                "working_mib": rss["peak"] - rss["baseline"] - in_out_mb,
            }
            result["memory"].append(mem)
            print(json.dumps(mem), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2))
        os.replace(tmp, args.out)
        args.out.with_suffix(".md").write_text(to_markdown(result))
    return result


def to_markdown(result: dict) -> str:
    lines = [
        f"device {result['device']}, {result['torch_threads']} torch threads, {result['frames']} frames at "
        f"{FPS:g} fps, chunk {result['chunk']}, shipped settings (alpha {ALPHA:g}, band "
        f"{SHIPPED.f_low:g}-{SHIPPED.f_high:g} Hz, bound {SHIPPED.phase_bound:.4f}); 'bare': no band, no "
        f"bound; times are the best of {result['repeats']} runs",
        "",
        "| size | pyramid | frames/s | s | bare method s | band-pass cost | bare FFT s | x FFT |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['size']} | {r['kind']} | {r['fps']:.1f} | {r['seconds']:.3f} | "
            f"{r['bare_method_seconds']:.3f} | {100 * r['bandpass_cost']:+.0f}% | "
            f"{r['bare_fft_seconds']:.3f} | {r['ratio_to_fft']:.2f} |"
        )
    base = [r for r in result["rows"] if "pyrtools_fps" in r]
    if base:
        lines += [
            "",
            "pyrtools baselines (octave, per frame, float64; 'one-sided' projects each rotated band on its "
            "half plane before `recon_pyr`, which computes our algorithm):",
            "",
            "| size | baseline | frames/s | our speed-up | max abs diff (grey levels) |",
            "|---|---|---|---|---|",
        ]
        for r in base:
            for name, label in (("pyrtools", "pyrtools recon_pyr"), ("pyrtools_one_sided", "one-sided")):
                lines.append(
                    f"| {r['size']} | {label} | {r[name + '_fps']:.1f} | {r['speedup_vs_' + name]:.1f} | "
                    f"{r['max_abs_diff_vs_' + name]:.2e} |"
                )
    if result["memory"]:
        lines += [
            "",
            "| frames | size | setting | chunk | RSS after imports MiB | peak RSS MiB | peak - baseline MiB | "
            "input+output MiB | working MiB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {m['frames']} | {m['size']} | {m['setting']} | {m['chunk']} | {m['baseline_rss_mib']:.0f} | "
            f"{m['peak_rss_mib']:.0f} | {m['peak_minus_baseline_mib']:.0f} | "
            f"{m['input_plus_output_mib']:.0f} | {m['working_mib']:.0f} |"
            for m in result["memory"]
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
