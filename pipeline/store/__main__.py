"""``python -m pipeline.store info FILE``: describe a clip cache."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from .reader import CacheError, CacheInfo, open_cache


def format_info(info: CacheInfo) -> str:
    """Human-readable summary: parameters, classes, clips per class and per subject."""
    lines = [
        f"file:        {info.path}",
        f"dataset:     {info.dataset}",
        f"format:      version {info.format_version}, created {info.created}",
        f"params_hash: {info.params_hash}",
        f"clips:       {len(info.clips)} ({len(info.subjects)} subjects), raw frames stored: {info.has_raw}",
        "params:",
        *("  " + line for line in json.dumps(info.params, indent=2, sort_keys=True).splitlines()),
        "clips per class:",
    ]
    per_class = Counter(c.label for c in info.clips)
    width = max(len(name) for name in info.classes)
    for label, name in enumerate(info.classes):
        lines.append(f"  {label:>2} {name:<{width}} {per_class.get(label, 0):>5}")
    lines.append("clips per subject:")
    per_subject = Counter(c.subject for c in info.clips)
    width = max((len(s) for s in per_subject), default=1)
    for subject in info.subjects:
        lines.append(f"  {subject:<{width}} {per_subject[subject]:>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.store", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info_parser = sub.add_parser("info", help="validate a cache file and print what it holds")
    info_parser.add_argument("file")
    args = parser.parse_args(argv)
    try:
        info = open_cache(args.file)
    except CacheError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(format_info(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
