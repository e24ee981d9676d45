"""One shape for every seam: a named registry of plug-in entries.

Models, input kinds and evaluation protocols (`model.registry`, `model.protocols`), face backends
(`pipeline.faces.backends`) and magnifiers (`pipeline.magnify.registry`) are each a :class:`Registry` of
frozen dataclass entries. An entry has a ``name`` and, when it takes settings, an ``options``
dataclass of its own (defaults, validation in ``__post_init__``), so that a new entry's settings never
change what another entry's caches or runs are named. Adding one is one new file whose last line is the
registry call, e.g.::

    MODELS.register(ModelSpec(name="toy", input="clip", options=ToyOptions, make=make_toy))

A plug-in module outside the toolkit registers itself when imported (``luigi --module my_plugin``, where
``my_plugin`` imports ``tasks`` and then registers its entries): its options become command-line
options of the tasks that read them (`Registry.on_register`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind (``kind``: "model", "protocol", ...) by their ``name``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._listeners: list[Callable[[T], None]] = []

    def register(self, entry: T) -> T:
        """Add ``entry`` (one with a ``name``); registering another entry under a taken name is a
        ValueError. Returns the entry (usable as a decorator on a factory's result)."""
        name = entry.name  # type: ignore[attr-defined]
        if name in self._entries and self._entries[name] != entry:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        for listener in self._listeners:
            listener(entry)
        return entry

    def get(self, name: str) -> T:
        """The entry ``name``; a ValueError listing the known names otherwise."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return self._entries[name]

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def on_register(self, listener: Callable[[T], None]) -> None:
        """Call ``listener(entry)`` for every entry now and for every one registered later."""
        self._listeners.append(listener)
        for entry in list(self._entries.values()):
            listener(entry)


def options_from(cls: type | None, values: Any, owner: str) -> Any:
    """An ``options`` dataclass ``cls`` from ``values``: an instance of it (returned as is), a dict of
    its fields (unknown keys a ValueError naming ``owner`` and the known ones), or None (its defaults).
    ``cls`` None (an entry without settings) takes only None or an empty dict."""
    if cls is None:
        if values:
            raise ValueError(f"{owner}: takes no options, got {values!r}")
        return None
    if isinstance(values, cls):
        return values
    if values is None:
        return cls()
    if isinstance(values, dict):
        return from_dict(cls, values, owner)
    raise ValueError(f"{owner}: expected {cls.__name__} or a dict, got {values!r}")


def from_dict(cls: type, values: dict, owner: str | None = None) -> Any:
    """``cls(**values)`` for a dataclass ``cls`` (JSON lists as tuples), rejecting unknown keys with a
    ValueError that names ``owner`` (default: the class), them and the known fields."""
    if not isinstance(values, dict):
        raise ValueError(f"{owner or cls.__name__}: expected a JSON object, got {type(values).__name__}")
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"{owner or cls.__name__}: unknown parameter(s) {unknown}; known: {', '.join(known)}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
