"""Benchmark of pipeline.magnify: frames/s per pyramid kind, bare-FFT bound, pyrtools baseline, memory.

    python benchmarks/magnify.py --device cpu --frames 64 --sizes 128 256 --out bench_magnify.json

Writes JSON to ``--out`` and a markdown table next to it (same name, ``.md``). Settings timed: the
micro-expression default (no temporal band-pass, alpha 15). "bare FFT" times only the torch.fft calls
the algorithm makes (same sizes, counts and chunking); the pyrtools baseline is a per-frame
implementation of the same octave pipeline on pyrtools' SteerablePyramidFreq. Peak memory is the max
RSS of a child process magnifying a long 128x128 clip with each ``--chunks`` setting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.magnify import KINDS, filter_bank, magnify

ALPHA = 15.0


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
    return np.stack([shift(base, (0.5 * m, m), mode="wrap") for m in moves]).clip(0, 255).astype(np.uint8)


def time_magnify(clip: np.ndarray, kind: str, device: str, chunk: int) -> float:
    """Seconds for one magnify call (filters already cached by a warm-up call)."""
    x = torch.from_numpy(clip).to(device)
    magnify(x[:2], fps=200, alpha=ALPHA, pyramid=kind, device=device, chunk=chunk)
    _sync(device)
    t0 = time.perf_counter()
    magnify(x, fps=200, alpha=ALPHA, pyramid=kind, device=device, chunk=chunk)
    _sync(device)
    return time.perf_counter() - t0


def time_bare_fft(frames: int, size: int, kind: str, device: str, chunk: int) -> float:
    """Seconds for only the FFTs magnify runs: fft2 and ifft2 per frame, ifft2 + fft2 per level."""
    bank = filter_bank(size, size, kind, device=device)
    full = torch.randn(chunk, size, size, dtype=torch.complex64, device=device)
    levels = [
        torch.randn(chunk, *lvl.filters.shape, dtype=torch.complex64, device=device) for lvl in bank.levels
    ]

    def run() -> None:
        for _ in range(0, frames, chunk):
            torch.fft.fft2(full)
            for z in levels:
                torch.fft.fft2(torch.fft.ifft2(z))
            torch.fft.ifft2(full)

    run()
    _sync(device)
    t0 = time.perf_counter()
    run()
    _sync(device)
    return time.perf_counter() - t0


def pyrtools_magnify(clip: np.ndarray, alpha: float) -> np.ndarray:
    """Per-frame octave magnification on pyrtools (no temporal filter, reference frame 0)."""
    from pyrtools.pyramids import SteerablePyramidFreq

    def pyr(img: np.ndarray) -> SteerablePyramidFreq:
        return SteerablePyramidFreq(img.astype(np.float64), order=3, twidth=1, is_complex=True)

    ref = pyr(clip[0])
    out = np.empty(clip.shape, dtype=np.float32)
    for t, frame in enumerate(clip):
        p = pyr(frame)
        for key, band in p.pyr_coeffs.items():
            if isinstance(key, tuple):
                delta = np.mod(np.pi + np.angle(band) - np.angle(ref.pyr_coeffs[key]), 2 * np.pi) - np.pi
                p.pyr_coeffs[key] = band * np.exp(1j * alpha * delta)
        out[t] = p.recon_pyr()
    return out


def peak_rss_mb(frames: int, size: int, chunk: int, kind: str) -> float:
    """Max RSS (MiB) of a child process that magnifies a ``frames``-long clip with ``chunk``."""
    cmd = [sys.executable, __file__, "--memory-child", str(frames), str(size), str(chunk), kind]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def _memory_child(frames: int, size: int, chunk: int, kind: str) -> None:
    clip = _clip(frames, size)
    magnify(clip, fps=200, alpha=ALPHA, pyramid=kind, chunk=chunk)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument(
        "--pyrtools-frames", type=int, default=16, help="frames for the (slow) pyrtools baseline; 0 skips it"
    )
    ap.add_argument("--memory-frames", type=int, default=1000, help="0 skips the memory runs")
    ap.add_argument(
        "--chunks", type=int, nargs="+", default=[8, 64], help="chunk settings for the memory runs"
    )
    ap.add_argument("--out", type=Path, default=None, help="JSON output; a .md table is written next to it")
    ap.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        f, s, c, k = args.memory_child
        _memory_child(int(f), int(s), int(c), k)
        return {}
    result: dict = {
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "frames": args.frames,
        "alpha": ALPHA,
        "rows": [],
        "memory": [],
    }
    for size in args.sizes:
        clip = _clip(args.frames, size)
        for kind in args.kinds:
            secs = time_magnify(clip, kind, args.device, args.chunk)
            fft = time_bare_fft(args.frames, size, kind, args.device, args.chunk)
            row = {
                "size": size,
                "kind": kind,
                "fps": args.frames / secs,
                "seconds": secs,
                "bare_fft_seconds": fft,
                "ratio_to_fft": secs / fft,
            }
            if kind == "octave" and args.pyrtools_frames > 0 and args.device == "cpu":
                n = min(args.pyrtools_frames, args.frames)
                t0 = time.perf_counter()
                theirs = pyrtools_magnify(clip[:n], ALPHA)
                per_frame = (time.perf_counter() - t0) / n
                ours = magnify(clip[:n], fps=200, alpha=ALPHA, pyramid="octave")
                row.update(
                    pyrtools_fps=1 / per_frame,
                    speedup_vs_pyrtools=per_frame * args.frames / secs,
                    max_abs_diff_vs_pyrtools=float(np.abs(ours - theirs).max()),
                )
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
    if args.memory_frames > 0:
        in_out_mb = args.memory_frames * 128 * 128 * 5 / 2**20
        for chunk in args.chunks:
            mem = {
                "frames": args.memory_frames,
                "size": 128,
                "chunk": chunk,
                "kind": "octave",
                "peak_rss_mib": peak_rss_mb(args.memory_frames, 128, chunk, "octave"),
                "input_plus_output_mib": in_out_mb,
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
        f"device {result['device']}, {result['torch_threads']} torch threads, {result['frames']} frames, alpha {result['alpha']}",
        "",
    ]
    lines += [
        "| size | pyramid | frames/s | s | bare FFT s | x FFT | pyrtools frames/s | speed-up | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        extra = (
            [
                f"{r['pyrtools_fps']:.1f}",
                f"{r['speedup_vs_pyrtools']:.1f}",
                f"{r['max_abs_diff_vs_pyrtools']:.2e}",
            ]
            if "pyrtools_fps" in r
            else ["", "", ""]
        )
        lines.append(
            "| "
            + " | ".join(
                [
                    str(r["size"]),
                    r["kind"],
                    f"{r['fps']:.1f}",
                    f"{r['seconds']:.3f}",
                    f"{r['bare_fft_seconds']:.3f}",
                    f"{r['ratio_to_fft']:.2f}",
                    *extra,
                ]
            )
            + " |"
        )
    if result["memory"]:
        lines += ["", "| frames | size | chunk | peak RSS MiB | input+output MiB |", "|---|---|---|---|---|"]
        lines += [
            f"| {m['frames']} | {m['size']} | {m['chunk']} | {m['peak_rss_mib']:.0f} | {m['input_plus_output_mib']:.0f} |"
            for m in result["memory"]
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
