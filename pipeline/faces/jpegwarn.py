"""Decode JPEG bytes with OpenCV and catch libjpeg's warnings (corrupt entropy-coded data).

A JPEG whose entropy-coded data is overwritten, headers and end marker intact, decodes without an error
into garbage; libjpeg only warns (``Corrupt JPEG data: premature end of data segment``, ``... bad Huffman
code``, ``... extraneous bytes before marker``) on the process's standard error. :func:`decode_jpeg`
points file descriptor 2 at a scratch file while OpenCV decodes, and returns those warnings, so that the
caller can refuse the frame. Decodes are serialised by a lock (descriptor 2 is shared by the process's
threads); anything else written to descriptor 2 meanwhile is passed on after the decode.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

import cv2
import numpy as np

#: how libjpeg's warnings begin (jerror.h)
WARNING_PREFIXES = ("Corrupt JPEG data", "Premature end of JPEG file", "Warning:", "Invalid JPEG")

_lock = threading.Lock()
_scratch: dict[int, object] = {}  # per process id: a scratch file (forked children open their own)


def _scratch_file():
    pid = os.getpid()
    if pid not in _scratch:
        _scratch[pid] = tempfile.TemporaryFile()
    return _scratch[pid]


def decode_jpeg(data: np.ndarray, flags: int = cv2.IMREAD_GRAYSCALE) -> tuple[np.ndarray | None, list[str]]:
    """``(cv2.imdecode(data, flags), libjpeg's warnings)``; the warnings are lines of text, none for a
    clean file. Other text written to descriptor 2 during the decode is written back to it."""
    with _lock:
        scratch = _scratch_file()
        scratch.seek(0)
        scratch.truncate()
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(scratch.fileno(), 2)
            image = cv2.imdecode(data, flags)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        scratch.seek(0)
        text = scratch.read().decode(errors="replace")
    warnings = [line for line in text.splitlines() if line.startswith(WARNING_PREFIXES)]
    other = [line for line in text.splitlines() if line and line not in warnings]
    if other:
        sys.stderr.write("\n".join(other) + "\n")
    return image, warnings
