"""Command line: ``python -m pipeline.synthetic --out DIR --seed N [options]``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from .dataset import SHEET_NAME, TRUTH_NAME, plan_dataset, write_dataset
from .montage import write_montage
from .params import SyntheticParams


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.synthetic",
        description="Write the built-in synthetic micro-expression dataset in the CASME II layout.",
    )
    p.add_argument("--out", help="output folder (must not exist or be empty, unless --overwrite)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--montage", metavar="PNG", help="also write a montage: one clip per class, raw vs x10")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    defaults = SyntheticParams()
    for field in dataclasses.fields(SyntheticParams):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(
                flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=value, metavar="BOOL"
            )
        elif isinstance(value, tuple):
            p.add_argument(flag, type=type(value[0]), nargs=2, default=value, metavar=("LO", "HI"))
        else:
            p.add_argument(flag, type=type(value), default=value)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is None and args.montage is None:
        parser.error("give --out DIR and/or --montage PNG")
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SyntheticParams)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        params = SyntheticParams(**values)
    except ValueError as err:
        parser.error(str(err))
    start = time.perf_counter()
    if args.out is not None:
        dataset = write_dataset(
            args.out, params, args.seed, overwrite=args.overwrite, progress=not args.quiet
        )
        n_frames = sum(c.length for c in dataset.clips)
        print(
            f"wrote {len(dataset.clips)} clips ({n_frames} frames) of {len(dataset.subjects)} subjects to "
            f"{args.out} with {SHEET_NAME} and {TRUTH_NAME} in {time.perf_counter() - start:.1f} s"
        )
    else:
        dataset = plan_dataset(params, args.seed)
    if args.montage is not None:
        print(f"montage: {write_montage(dataset, args.montage)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
