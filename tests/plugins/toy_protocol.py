"""A toy protocol plug-in: report a fixed epoch of every fold (`model.protocols`)."""

from __future__ import annotations

from dataclasses import dataclass

from model.protocols import PROTOCOLS, ProtocolSpec


@dataclass(frozen=True)
class PickOptions:
    """``pick_epoch``: the epoch whose test predictions every fold reports."""

    pick_epoch: int = 1


PROTOCOLS.register(
    ProtocolSpec(
        "pick",
        "a fixed epoch of every fold (a toy)",
        options=PickOptions,
        select=lambda history, fold: min(fold.cfg.protocol_options.pick_epoch, len(history)),
    )
)
