"""qc.json of a cache build that stopped before the builder wrote its own, and what a build left out.

:func:`guarded_build` runs a build so that whatever stops it (a ``--strict`` refusal, a full disk, an
unwritable output) leaves ``qc.json`` saying ``"status": "failed"`` with the reason and the path that
could not be written, never a ``"complete"`` one, and no ``.h5``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.atomic import write_text

log = logging.getLogger(__name__)


#: errors that mean an output could not be written (anything else: "I/O error on PATH")
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                errno.EISDIR, errno.ENOTDIR, errno.EEXIST}  # fmt: skip


class BuildOutputError(OSError):
    """A build could not write one of its outputs; the message names the path."""


def failed_qc(problem: str, dataset: str, params: Any, extra: dict[str, Any] | None = None) -> str:
    """The text of a failed build's qc.json (``params`` a ``PreprocessParams``)."""
    summary = {
        "status": "failed",
        "problem": problem,
        "dataset": dataset,
        "params_hash": params.hash(),
        "n_written": 0,
        **(extra or {}),
    }
    return json.dumps({"summary": summary, "params": params.to_dict(), "clips": {}}, indent=1)


def write_failed_qc(qc_dir: Path, text: str) -> None:
    """Write ``qc_dir/qc.json`` (atomically); when even that fails (the disk is full), remove any older
    qc.json so that none says ``complete``."""
    path = Path(qc_dir) / "qc.json"
    try:
        Path(qc_dir).mkdir(parents=True, exist_ok=True)
        write_text(path, text)
    except OSError as err:
        log.error("%s could not be written either (%s); removing it", path, err)
        path.unlink(missing_ok=True)


def unwritable_path(err: OSError, default: Path) -> str:
    """The path an OSError names (a rename's target ``filename2``, else ``filename``: the output, not its
    temporary name), else ``default`` (the cache being written)."""
    for name in (getattr(err, "filename2", None), getattr(err, "filename", None)):
        if name:
            return str(name)
    return str(default)


def guarded_build(
    build: Callable[[], Any],
    *,
    out_path: Path,
    qc_dir: Path,
    dataset: str,
    params: Any,
    extra: dict[str, Any] | None = None,
) -> Any:
    """``build()``; when it raises an ``OSError`` (disk full, unwritable folder), qc.json records the
    failure and the path, no ``out_path`` is left, and a :class:`BuildOutputError` naming the path is
    raised. Other errors are re-raised after qc.json is checked not to say ``complete``."""
    try:
        return build()
    except OSError as err:
        path = unwritable_path(err, out_path)
        what = "could not write" if err.errno in WRITE_ERRNOS or err.errno is None else "I/O error on"
        problem = f"{what} {path}: {type(err).__name__}: {err}"
        extra = {**(extra or {}), "unwritable_path": path}
        write_failed_qc(qc_dir, failed_qc(problem, dataset, params, extra))
        _remove_output(out_path)
        raise BuildOutputError(
            f"{dataset}: cache build failed: {problem} (qc: {qc_dir / 'qc.json'})"
        ) from err
    except BaseException as err:
        if _says_complete(qc_dir):
            problem = f"{type(err).__name__}: {err}"
            write_failed_qc(qc_dir, failed_qc(problem, dataset, params, extra))
        _remove_output(out_path)
        raise


def _says_complete(qc_dir: Path) -> bool:
    try:
        return json.loads((Path(qc_dir) / "qc.json").read_text())["summary"]["status"] == "complete"
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _remove_output(out_path: Path) -> None:
    """A failed build leaves no cache file (the writer renames only a complete one; this is a guard)."""
    try:
        os.unlink(out_path)
    except FileNotFoundError:
        pass
    except OSError as err:
        log.error("could not remove %s after a failed build: %s", out_path, err)


def clip_summary_lines(dataset: str, qc_path: Path, named: int = 5) -> list[str]:
    """What a finished build's qc.json says of its clips that failed (left out) or were flagged (kept):
    counts and the first ``named`` of each with the reason, for the console and the task log."""
    summary = json.loads(Path(qc_path).read_text())["summary"]
    failed, lost = summary.get("failed") or {}, summary.get("face_lost") or []
    lines = []
    if failed:
        lines.append(
            f"{dataset}: {len(failed)} clip(s) failed and were left out (qc.json 'failed'); by reason:"
        )
        lines += [f"  {line.strip()}" for line in summary.get("failures_by_reason", [])]
        lines += [f"    {sid}: {why}" for sid, why in list(failed.items())[:named]]
    if lost:
        lines.append(
            f"{dataset}: {len(lost)} clip(s) kept although the face was not found on some checked frames "
            f"(qc.json 'face_lost'; --strict fails them): {', '.join(lost[:named])}"
            + (f" and {len(lost) - named} more" if len(lost) > named else "")
        )
    return lines
