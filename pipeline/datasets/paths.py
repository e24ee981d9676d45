"""Clip folders named by layout templates, found on disk exactly, case-insensitively or by a glob.

A template such as ``"{subject}/{filename}/color"`` is filled from one sheet row. With
``case_insensitive`` a segment that does not exist as written matches the one folder whose name
differs only in case (CAS(ME)^3 writes ``spNO.1`` and ``J`` in its sheet, some copies name the folders
``spNo.1`` and ``j``); a segment holding ``*`` (CAS(ME)^2's ``{code}_{stimulus}*``) matches the one
folder the glob fits. Zero or several matches are a problem naming the folder and the candidates.
Names are compared Unicode-normalised (NFC): a folder written in NFD (as macOS writes names) matches
the sheet's NFC name, and the name found on disk is the one used.
"""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
import unicodedata
from pathlib import Path
from typing import Any

from .frames import unsafe_reason


class Folders:
    """Sub-folder names of folders, listed once (many sheet rows share a subject's folder)."""

    def __init__(self) -> None:
        self._names: dict[Path, tuple[str, ...]] = {}

    def names(self, folder: Path) -> tuple[str, ...]:
        if folder not in self._names:
            try:
                with os.scandir(folder) as entries:
                    self._names[folder] = tuple(sorted(e.name for e in entries if e.is_dir()))
            except (FileNotFoundError, NotADirectoryError):
                self._names[folder] = ()
        return self._names[folder]


def fill(template: str, fields: dict[str, Any]) -> str:
    """The template's segments filled in; in a segment holding ``*`` the values are glob-escaped."""
    out = []
    for segment in template.split("/"):
        if "*" in segment:
            out.append(segment.format(**{k: glob.escape(str(v)) for k, v in fields.items()}))
        else:
            out.append(segment.format(**fields))
    return "/".join(out)


def nfc(name: str) -> str:
    """``name`` in Unicode normal form C (composed), how names are compared."""
    return unicodedata.normalize("NFC", name)


def resolve(base: Path, rel: str, folders: Folders, *, case_insensitive: bool) -> tuple[str | None, str]:
    """``(the relative path on disk, "")`` for a filled template, or ``(None, problem)``."""
    reason = unsafe_reason(rel.replace("*", "x"))
    if reason:
        return None, reason
    if "*" not in rel and not case_insensitive:
        if (base / rel).is_dir():
            return rel, ""
        if rel.isascii():  # no other normal form to look for
            return None, f"clip folder not found: {(base / rel).as_posix()}"
    parts: list[str] = []
    for segment in rel.split("/"):
        here = base.joinpath(*parts)
        if "*" not in segment and segment in folders.names(here):
            parts.append(segment)
            continue
        names = folders.names(here)
        if "*" in segment:
            flags = nfc(segment.lower() if case_insensitive else segment)
            found = [
                n for n in names if fnmatch.fnmatchcase(nfc(n.lower() if case_insensitive else n), flags)
            ]
        elif case_insensitive:
            found = [n for n in names if nfc(n.lower()) == nfc(segment.lower())]
        else:
            found = [n for n in names if nfc(n) == nfc(segment)]
        if len(found) != 1:
            what = "no folder" if not found else f"several folders ({', '.join(found)})"
            how = " (case ignored)" if case_insensitive else " (Unicode-normalised, NFC)"
            return None, f"{what} matching {segment!r}{how} in {here.as_posix()}"
        parts.append(found[0])
    return "/".join(parts), ""


def alternatives(
    fields: dict[str, Any], aliases: dict[str, dict[str, tuple[str, ...]]]
) -> list[dict[str, Any]]:
    """Every field dict the path aliases allow (``others`` may be the folder ``repression``), the
    written values first."""
    choices = []
    for name, value in fields.items():
        alias = aliases.get(name, {}).get(" ".join(str(value).split()).lower())
        choices.append([(name, v) for v in (value, *(a for a in (alias or ()) if a != value))])
    return [dict(combo) for combo in itertools.product(*choices)]


def find_clip(
    base: Path,
    template: str,
    fields: dict[str, Any],
    folders: Folders,
    *,
    case_insensitive: bool = False,
    aliases: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> tuple[str | None, str]:
    """``(relative clip folder, "")`` of one row under ``base``, or ``(None, problem)``; with
    aliases the first alternative found is used."""
    problems = []
    for option in alternatives(fields, aliases or {}):
        try:
            rel = fill(template, option)
        except (KeyError, IndexError, ValueError) as err:
            return None, f"layout {template!r} cannot be filled: {err!r}"
        found, problem = resolve(base, rel, folders, case_insensitive=case_insensitive)
        if found is not None:
            return found, ""
        problems.append(problem)
    return None, "; ".join(dict.fromkeys(problems))
