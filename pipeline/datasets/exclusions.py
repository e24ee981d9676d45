"""One policy for the sheet rows and clip folders a dataset reader leaves out (:class:`Excluded`).

Every left-out item is reported the same way: a summary (counts by kind and reason, the first few rows
named) for the console and the task log, every item with its reason in ``qc.json``, and ``--strict``
failing on each one that is not an expected, declared exclusion (:data:`EXPECTED`).

Expected kinds are decisions written down in a spec or a grouping: ``grouping`` (a label the grouping
drops), ``protocol`` (an official exclusion list), ``filter`` (rows of another kind, e.g. CAS(ME)^2's
macro-expressions), ``known-error`` (a sheet error with no verified fix) and ``multi-label`` (4DME's
compound labels). Everything else (kind ``invalid``: a missing frame or folder, a bad onset, an unknown
label, an unsafe path, a duplicate row, ...) is a problem in the data: listed, and fatal under strict.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from .records import Excluded, ManifestError
from .spec import normalise_label

#: kinds of exclusion a spec or grouping declares on purpose: reported, never a --strict failure
EXPECTED = ("grouping", "protocol", "filter", "known-error", "multi-label")

#: how many left-out rows a summary names
NAMED = 5


def unexpected(excluded: Iterable[Excluded]) -> list[Excluded]:
    """The exclusions that are not a declared, expected kind (those ``--strict`` fails on)."""
    return [e for e in excluded if e.kind not in EXPECTED]


def generic_reason(item: Excluded) -> str:
    """The reason without its row, paths and numbers, so that like problems count together
    (``frames missing on disk in … (annotated onset..offset #..#, ...)``)."""
    text = item.reason
    if item.row and text.startswith(item.row):
        text = text[len(item.row) :].lstrip(":, ")
    text = re.sub(r"[^\s()']*/[^\s()']*", "…", text)
    return re.sub(r"\d+", "#", text)[:160]


def counts_by_reason(excluded: Sequence[Excluded]) -> list[tuple[str, str, int]]:
    """``(kind, generic reason, count)``, most frequent first."""
    counts = Counter((e.kind, generic_reason(e)) for e in excluded)
    return [(k, r, n) for (k, r), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def summary_lines(dataset: str, excluded: Sequence[Excluded], named: int = NAMED) -> list[str]:
    """A human summary: the total by kind, counts by reason, and the first ``named`` rows with reasons."""
    if not excluded:
        return [f"{dataset}: no sheet row or clip folder left out"]
    kinds = Counter(e.kind for e in excluded)
    bad = len(unexpected(excluded))
    lines = [
        f"{dataset}: {len(excluded)} sheet row(s) or clip folder(s) left out "
        f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); {bad} not an expected exclusion "
        f"(--strict fails on those); every one is listed in qc.json; by reason:"
    ]
    lines += [f"  {n} x [{kind}] {reason}" for kind, reason, n in counts_by_reason(excluded)]
    lines.append(f"  first {min(named, len(excluded))}:")
    lines += [f"    [{e.kind}] {e.sample_id or '-'}: {e.reason}" for e in excluded[:named]]
    return lines


def qc_fields(excluded: Sequence[Excluded]) -> dict[str, Any]:
    """What qc.json's summary says of the left-out items: counts by kind and every item with its reason
    and whether it is expected."""
    return {
        "n_excluded": len(excluded),
        "n_excluded_unexpected": len(unexpected(excluded)),
        "excluded_by_kind": dict(sorted(Counter(e.kind for e in excluded).items())),
        "excluded": [{**asdict(e), "expected": e.kind in EXPECTED} for e in excluded],
    }


def strict_problem(dataset: str, excluded: Sequence[Excluded], named: int = 20) -> str | None:
    """The error of a ``--strict`` build that left out unexpected items (naming the first rows), or None."""
    bad = unexpected(excluded)
    if not bad:
        return None
    listing = "\n".join(f"  [{e.kind}] {e.sample_id or '-'}: {e.reason}" for e in bad[:named])
    more = f"\n  ... and {len(bad) - named} more (all in qc.json)" if len(bad) > named else ""
    return (
        f"{len(bad)} sheet row(s) or clip folder(s) of {dataset} left out (strict: only the expected kinds "
        f"{', '.join(EXPECTED)} may be):\n{listing}{more}"
    )


def check_duplicate_label(
    labels: dict[str, tuple[str, str]], sample_id: str, emotion: str, where: str
) -> None:
    """Remember ``sample_id``'s label at ``where``; a second row of the same clip with another label is a
    :class:`ManifestError` naming both rows and both labels (which to keep is not ours to guess)."""
    first = labels.get(sample_id)
    if first is None:
        labels[sample_id] = (where, emotion)
        return
    if normalise_label(first[1]) != normalise_label(emotion):
        raise ManifestError(
            f"conflicting duplicate rows for clip {sample_id!r}: {first[0]} says {first[1]!r}, {where} "
            f"says {emotion!r}; remove or correct one of them"
        )
