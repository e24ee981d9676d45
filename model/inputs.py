"""The built-in input kinds of the model seam (`model.registry.INPUTS`): ``clip`` and ``flow``."""

from __future__ import annotations

from dataclasses import dataclass

from model.registry import INPUTS, InputSpec
from pipeline.validation import require


@dataclass(frozen=True)
class ClipOptions:
    """How a clip's frames are fed (`pipeline.store.ClipDataset`).

    Attributes:
        max_frames: clips longer than this are uniformly subsampled (None: keep all, the reference).
        subtract_onset: feed each frame minus the clip's onset frame instead of the frame (not in the
            paper, which feeds the frames; see docs/STUDY.md for why it is offered).
        flip: a random horizontal flip per training clip (the reference has none).
    """

    max_frames: int | None = None
    subtract_onset: bool = False
    flip: bool = False

    def __post_init__(self) -> None:
        require(
            self.max_frames is None or (isinstance(self.max_frames, int) and self.max_frames >= 1),
            "ClipOptions", "max_frames", "None or an integer >= 1", self.max_frames,
        )  # fmt: skip
        require(
            isinstance(self.subtract_onset, bool),
            "ClipOptions",
            "subtract_onset",
            "True or False",
            self.subtract_onset,
        )
        require(isinstance(self.flip, bool), "ClipOptions", "flip", "True or False", self.flip)


@dataclass(frozen=True)
class FlowOptions:
    """``flow_method``: the onset -> apex optical flow a flow model reads (`pipeline.flow.FLOW_METHODS`):
    ``tvl1`` (Dual TV-L1, the field's) or ``farneback``."""

    flow_method: str = "tvl1"

    def __post_init__(self) -> None:
        from pipeline.flow import FLOW_METHODS

        ok = self.flow_method in FLOW_METHODS
        require(ok, "FlowOptions", "flow_method", f"must be one of {tuple(FLOW_METHODS)}", self.flow_method)


def clip_dataset(info, cfg, *, subjects=None, exclude=None, train: bool, artifact=None):
    """The clips of the chosen subjects of cache ``info``, as ``cfg`` feeds them."""
    from pipeline.store import ClipDataset

    options = cfg.input_options
    return ClipDataset(
        info.path,
        info=info,
        subjects=subjects,
        exclude_subjects=exclude,
        source=cfg.source,
        train=train,
        input_size=cfg.input_size,
        max_frames=options.max_frames,
        seed=cfg.seed if train else None,
        keep_in_memory=cfg.keep_in_memory,
        subtract_onset=options.subtract_onset,
        flip=options.flip and train,
    )


def flow_dataset(info, cfg, *, subjects=None, exclude=None, train: bool, artifact=None):
    """The onset -> apex flow images of the chosen subjects of cache ``info`` from its flow file
    ``artifact`` (`pipeline.flow.compute_flow_file`); no augmentation."""
    from pipeline.flow import FlowDataset

    if artifact is None:
        raise ValueError(f"model {cfg.model!r} reads the cache's flow file: give its path (ComputeFlow)")
    return FlowDataset(
        artifact, info.path, subjects=subjects, exclude_subjects=exclude, input_size=cfg.input_size, info=info
    )


INPUTS.register(InputSpec("clip", ClipOptions, clip_dataset))
INPUTS.register(InputSpec("flow", FlowOptions, flow_dataset, artifact="flow"))
