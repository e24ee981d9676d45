"""Named training recipes: complete `TrainConfig` values a run starts from (a recipe names its model).

``paper`` is the AKMNet paper's protocol: the reference's training (main.py/util.py of
Trunpm/AKMNet-Micro-Expression; `TrainConfig`'s own defaults, which are written to be exactly that) on
the paper's classes with its class oversampling. ``default`` is the recipe this
toolkit ships: one that converges on small micro-expression data at CPU-sized settings, chosen on
development data (docs/STUDY.md, "Training recipes"). ``flow-cnn`` is the optical-flow baseline
(`model.flowcnn`, STSTNet-like) on each clip's onset -> apex flow. Every field can still be overridden:
``recipe_config("paper", epochs=8)``.
"""

from __future__ import annotations

from typing import Any

from model.config import TrainConfig
from pipeline.validation import ParamError

#: how the flow models train: Adam 1e-3, no weight decay, one cosine descent over 50 epochs, 16 clips
#: per step, the flow image at 28 px
FLOW_TRAINING: dict[str, Any] = {
    "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "lr_schedule": "cosine", "epochs": 50, "batch_size": 16,
    "input_size": 28,
}  # fmt: skip

#: recipe name -> the fields it sets beyond `TrainConfig`'s defaults (the reference's)
RECIPES: dict[str, dict[str, Any]] = {
    # SGD 1e-3, momentum 0.9, weight decay 5e-4; CosineAnnealingLR(T_max = epochs / 5) stepped with the
    # epoch; 40 epochs; half the training clips scaled to 144 and
    # randomly cropped to 128, the other half scaled to 128, no flip; test frames
    # scaled to 128; all frames; 8 clips per step (a short last step averages over its own clips);
    # loss weights 1 (separation) and 0.1 (count); running batch-norm statistics at evaluation.
    # The paper's protocol beyond the reference's code: its class grouping (4 merged classes, SMIC's
    # 3) and a training set balanced by oversampling every class to the largest (section IV).
    "paper": {"grouping": "paper", "balance": "oversample"},
    # departs from the paper where measured better on development data (docs/STUDY.md)
    "default": {
        "epochs": 30,
        "lr": 1e-2,
        "lr_schedule": "cosine",
        "input_size": 64,
        "max_frames": 8,
        "width": 16,
        "subtract_onset": True,
        "eval_norm": "clip",
    },
    # STSTNet's input and Adam; its learning rate (5e-5, for hundreds of epochs) raised to 1e-3 for
    # 50 epochs with one cosine descent, chosen on development data (docs/STUDY.md)
    "flow-cnn": {"model": "flow-cnn", **FLOW_TRAINING},
    # OFF-ApexNet (Gan et al. 2019) on the onset -> apex u, v flow at its 28 px. The paper's training
    # text could not be read here; two independent re-implementations (PRICAI2021-Off-TANet,
    # tvaranka/meb) train Adam 1e-4 for 3000 epochs at a constant rate (near: `--lr 1e-4 --epochs 3000`).
    # Ours, as flow-cnn: Adam 1e-3, one cosine descent, 50 epochs, 16 clips per step (model.offapexnet)
    "off-apexnet": {"model": "off-apexnet", **FLOW_TRAINING},
    # LBP-TOP + linear SVM (the MEGC baseline; model.lbptop_svm): fitted once ("1 epoch") on the raw,
    # un-magnified frames as the baseline reads them, every frame of a clip, 128 px (the cache's face
    # size), 16 clips per feature batch
    "lbp-top": {
        "model": "lbp-top",
        "epochs": 1,
        "source": "raw",
        "input_size": 128,
        "max_frames": None,
        "batch_size": 16,
    },
}


#: the built-in synthetic set (``make run``: minutes on 2 CPU cores) runs these recipes shrunk to these
#: fields, which each run's report names as overrides; a real dataset runs every recipe as it is
BUILTIN_SHRINK: dict[str, dict[str, Any]] = {
    # 6 epochs: the paper's oversampling makes an epoch on the built-in set 1.6x as long (112 clips
    # instead of 70 per training fold), so 6 epochs cost about what 10 did before it
    "paper": {"epochs": 6, "input_size": 64, "max_frames": 8},
    # the two classic baselines added about 100 s to make run at full size (off-apexnet 50 epochs,
    # lbp-top at 128 px: 128 s for both on 2 workers); these halve that
    "off-apexnet": {"epochs": 30},
    "lbp-top": {"input_size": 64},
}


def recipe_config(name: str, **overrides: Any) -> TrainConfig:
    """`TrainConfig` of recipe ``name`` with ``overrides`` (any option, by its flat name) applied on top:
    the one place a recipe and its overrides are merged (the tasks' command line goes through it)."""
    if name not in RECIPES:
        raise ParamError("TrainConfig", "recipe", f"must be one of {sorted(RECIPES)}", name)
    return TrainConfig.from_flat({**RECIPES[name], **overrides, "recipe": name})


def overrides_of(cfg: TrainConfig) -> dict[str, Any]:
    """The options where ``cfg`` differs from its recipe (what a report names beside the recipe)."""
    base = (recipe_config(cfg.recipe) if cfg.recipe in RECIPES else TrainConfig()).flat()
    return {
        name: value
        for name, value in cfg.flat().items()
        if name not in ("recipe", "init_checkpoint_sha256", "grouping")  # reports name the grouping itself
        and (name not in base or value != base[name])
    }
