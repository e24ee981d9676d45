"""Errors raised by the face stage; both are ``ValueError`` subclasses that name the file."""

from __future__ import annotations

from pathlib import Path


class FrameReadError(ValueError):
    """A frame file is missing, empty, truncated, undecodable or of the wrong size."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read frame {self.path}: {reason}")

    def __reduce__(self):  # picklable, so worker processes can return it
        return type(self), (self.path, self.reason)


class FaceNotFoundError(ValueError):
    """No face was found on the reference frame nor on the frames searched after it."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"no face found for clip {self.path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)
