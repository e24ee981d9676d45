"""Training throughput: batched AKMNet training vs the reference's batch-1 loop, same model and data.

Both runs train the same AKMNet (same seed, loss, optimiser, effective batch of 8 clips per step) on
the same in-memory synthetic clips; "batched" feeds 8 clips per forward pass, "batch-1" feeds one
clip per forward pass and accumulates 8 gradients, as the reference code does. ``--batch-norm clip``
(default) gives the batched run per-clip batch-norm statistics, the same model as batch-1; ``batch``
pools them over the 8 clips' frames. Reports training
clips/s and the held-out accuracy of each. ``--cost`` instead times one batched training step per
input size and prints the CPU seconds per clip.

    python benchmarks/train.py --clips 48 --frames 6 10 --input-size 64 --epochs 2
    python benchmarks/train.py --frames 8 16 --epochs 4 --batch-norm clip batch
    python benchmarks/train.py --cost --frames 24 40 --sizes 64 128 --max-frames 8 16
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np
import torch

from model.config import TrainConfig
from model.train import build_model, predict, prepare_model, resolve_device, train_epoch


class BlobClips(torch.utils.data.Dataset):
    """Synthetic clips: a blob moving in one of ``classes`` directions on noise; float (T, 1, S, S)."""

    def __init__(self, n: int, frames: tuple[int, int], size: int, classes: int = 3, seed: int = 0):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        self.items = []
        for i in range(n):
            label = i % classes
            length = int(rng.integers(frames[0], frames[1] + 1))
            angle = 2 * np.pi * label / classes
            cy, cx = 0.5 + rng.uniform(-0.1, 0.1, 2)
            clip = []
            for t in range(length):
                step = 0.25 * t / max(length - 1, 1)
                y, x = cy + step * np.sin(angle), cx + step * np.cos(angle)
                blob = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 0.08**2))
                clip.append(0.25 + 0.6 * blob + rng.normal(0, 0.04, (size, size)))
            frames_t = torch.from_numpy(np.clip(np.stack(clip), 0, 1).astype(np.float32)).unsqueeze(1)
            self.items.append(
                {
                    "frames": frames_t,
                    "length": length,
                    "label": label,
                    "onset": 0,
                    "apex": length // 2,
                    "offset": length - 1,
                    "sample_id": f"c{i}",
                    "subject": "s",
                }
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def timed_training(cfg: TrainConfig, train_set, test_set, num_classes: int) -> dict:
    device = resolve_device(cfg.device)
    model = prepare_model(build_model(num_classes, cfg), cfg, device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        train_epoch(model, train_set, optimizer, cfg, epoch, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    p = predict(model, test_set, cfg, device)
    result = {
        "micro_batch": cfg.micro_batch,
        "train_seconds": seconds,
        "clips_per_s": cfg.epochs * len(train_set) / seconds,
        "test_accuracy": float(np.mean(np.equal(p["labels"], p["preds"]))),
    }
    print(
        f"micro-batch {cfg.micro_batch}, batch_norm {cfg.batch_norm}: {result}", file=sys.stderr, flush=True
    )
    return result


def compare(args) -> dict:
    train_set = BlobClips(args.clips, tuple(args.frames), args.input_size, seed=1)
    test_set = BlobClips(args.test_clips, tuple(args.frames), args.input_size, seed=2)
    base = dict(
        epochs=args.epochs,
        input_size=args.input_size,
        lr=args.lr,
        lr_period=float(args.epochs * 2),
        batch_size=8,
        width=args.width,
        device=args.device,
        seed=0,
    )
    batched = {
        mode: timed_training(TrainConfig.from_flat(dict(**base, batch_norm=mode)), train_set, test_set, 3)
        for mode in args.batch_norm
    }
    # one clip per forward: per-clip and pooled batch-norm statistics are the same thing
    single = timed_training(TrainConfig.from_flat(dict(**base, micro_batch_size=1)), train_set, test_set, 3)
    return {
        "batched": batched,
        "batch1": single,
        "speedup": {mode: r["clips_per_s"] / single["clips_per_s"] for mode, r in batched.items()},
    }


def cost(args) -> dict:
    rows = []
    for size in args.sizes:
        for max_frames in args.max_frames or [None]:
            lo, hi = args.frames if max_frames is None else (min(args.frames[0], max_frames), max_frames)
            data = BlobClips(8, (lo, hi), size, seed=3)
            cfg = TrainConfig.from_flat(
                dict(epochs=1, input_size=size, batch_size=8, width=args.width, device=args.device)
            )
            device = resolve_device(cfg.device)
            model = prepare_model(build_model(3, cfg), cfg, device)
            optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
            train_epoch(model, data, optimizer, cfg, 0, device)  # warm-up
            start = time.perf_counter()
            train_epoch(model, data, optimizer, cfg, 1, device)
            seconds = time.perf_counter() - start
            frames = sum(item["length"] for item in data.items)
            rows.append(
                {
                    "input_size": size,
                    "frames_per_clip": frames / 8,
                    "max_frames": max_frames,
                    "train_s_per_clip": seconds / 8,
                    "train_ms_per_frame": 1000 * seconds / frames,
                }
            )
    return {"cost": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--test-clips", type=int, default=24)
    parser.add_argument("--frames", type=int, nargs=2, default=(6, 10), metavar=("MIN", "MAX"))
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--batch-norm",
        nargs="+",
        default=["clip"],
        choices=["clip", "batch"],
        help="batch-norm statistics of the batched runs (TrainConfig.batch_norm); one run each",
    )
    parser.add_argument("--cost", action="store_true", help="time one batched step per input size instead")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--max-frames", type=int, nargs="*", default=None)
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = cost(args) if args.cost else compare(args)
    result["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": args.device,
    }
    result["args"] = vars(args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
