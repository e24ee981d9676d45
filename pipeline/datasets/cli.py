"""Command line: ``python -m pipeline.datasets --dataset NAME --root PATH --out manifest.csv``."""

from __future__ import annotations

import argparse
from collections import Counter

from .adapters import load_manifest
from .records import Manifest, ManifestError
from .spec import list_datasets, list_groupings


def _table(title: str, counts: dict[str, int]) -> list[str]:
    width = max([len(k) for k in counts] + [len(title)])
    lines = [f"{title:<{width}}  clips", f"{'-' * width}  -----"]
    lines += [f"{key:<{width}}  {value:5d}" for key, value in counts.items()]
    lines.append(f"{'total':<{width}}  {sum(counts.values()):5d}")
    return lines


def summary(manifest: Manifest) -> str:
    """Human-readable summary: sources, clips per class and subject, exclusions, corrections."""
    lines = [f"dataset {manifest.dataset}, grouping {manifest.grouping}, root {manifest.root}"]
    lines += [f"  {key}: {value}" for key, value in manifest.sources.items()]
    lines += [
        "",
        *_table("class", manifest.class_counts()),
        "",
        *_table("subject", manifest.subject_counts()),
    ]
    apex_unknown = sum(r.apex < 0 for r in manifest.rows)
    lines += ["", f"apex unknown (recorded as -1): {apex_unknown} clip(s)"]
    kinds = Counter(e.kind for e in manifest.excluded)
    lines += [
        "",
        f"excluded: {len(manifest.excluded)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})",
    ]
    lines += [f"  [{e.kind}] {e.sample_id or '-'}: {e.reason}" for e in manifest.excluded]
    lines += ["", f"corrections: {len(manifest.corrections)}"]
    lines += [f"  {c}" for c in manifest.corrections]
    return "\n".join(lines)


def _part_root(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline.datasets", description=__doc__)
    parser.add_argument(
        "--dataset", required=True, help=f"one of {', '.join(list_datasets())}, or a spec .toml"
    )
    parser.add_argument("--root", help="dataset top folder (composite: the folder holding its datasets)")
    parser.add_argument(
        "--part-root",
        action="append",
        type=_part_root,
        default=[],
        metavar="NAME=PATH",
        help="composite only: one dataset's root, e.g. casme2=/data/CASME2 (repeatable)",
    )
    parser.add_argument("--grouping", help="class grouping (default: the dataset's default)")
    parser.add_argument(
        "--frames",
        choices=("full", "cropped"),
        default="full",
        help="the release's full or cropped (reg_) frames",
    )
    parser.add_argument("--strict", action="store_true", help="fail on any row-level problem")
    parser.add_argument("--annotation", help="annotation sheet to use instead of searching the root")
    parser.add_argument("--clips", help="folder holding the clip folders, instead of searching the root")
    parser.add_argument("--out", required=True, help="manifest CSV to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.grouping is not None and args.grouping not in list_groupings(args.dataset):
            parser.error(
                f"dataset {args.dataset!r} has no grouping {args.grouping!r}; "
                f"choose one of {list_groupings(args.dataset)}"
            )
        manifest = load_manifest(
            args.dataset,
            args.root,
            grouping=args.grouping,
            frame_set=args.frames,
            strict=args.strict,
            annotation=args.annotation,
            clips=args.clips,
            roots=dict(args.part_root) or None,
        )
    except ManifestError as err:
        parser.exit(2, f"error: {err}\n")
    manifest.to_csv(args.out)
    print(summary(manifest))
    print(f"\nwrote {len(manifest)} clip(s) to {args.out}")
    return 0
