"""One style for invalid settings: ``Owner.field: must be <rule>, got <value>``.

Every settings dataclass (``FaceParams``, ``MagnifyParams``, ``PreprocessParams``, ``SyntheticParams``,
``TrainConfig``) raises :class:`ParamError`, which carries the owner and field so that the Luigi
tasks can name the command-line option the user typed (``--face-size``) instead.
"""

from __future__ import annotations

from typing import Any

_UNSET = object()


class ParamError(ValueError):
    """An invalid setting of ``owner.field``; ``str()`` is ``"Owner.field: must be ..., got ..."``."""

    def __init__(self, owner: str, field: str, rule: str, value: Any = _UNSET) -> None:
        self.owner, self.field, self.rule = owner, field, rule
        self.value = None if value is _UNSET else value
        self.detail = rule if value is _UNSET else f"{rule}, got {value!r}"
        super().__init__(f"{owner}.{field}: {self.detail}")


def require(ok: bool, owner: str, field: str, rule: str, value: Any = _UNSET) -> None:
    """Raise :class:`ParamError` ``owner.field: rule, got value`` unless ``ok``."""
    if not ok:
        raise ParamError(owner, field, rule, value)
