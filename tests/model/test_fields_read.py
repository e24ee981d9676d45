"""Every training setting is read: each shared `TrainConfig` field by the loop (model/, tasks/ or the
fold code, or a `TrainConfig` property they read), and each option of a model, input kind or protocol by
the module that declares it or the code that runs its input, so that no setting changes a run's name
without changing what it does."""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import fields
from pathlib import Path

from model.config import NESTED, TrainConfig
from model.protocols import PROTOCOLS
from model.registry import INPUTS, MODELS

ROOT = Path(__file__).resolve().parents[2]
#: fields that are records, not settings: the recipe's name and the checkpoint's digest (its identity)
RECORDS = ("recipe", "init_checkpoint_sha256")


def code_of(folders: tuple[str, ...], skip: tuple[str, ...] = ()) -> str:
    return "\n".join(
        p.read_text()
        for folder in folders
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p.name not in skip
    )


def test_every_shared_field_is_read_outside_its_definition():
    code = code_of(("model", "tasks", "pipeline"), skip=("config.py",))
    code += inspect.getsource(TrainConfig.period.fget) + inspect.getsource(TrainConfig.micro_batch.fget)
    nested = {name for name, _ in NESTED}
    unread = [
        f.name
        for f in fields(TrainConfig)
        if f.name not in RECORDS + tuple(nested) and not re.search(rf"\.{f.name}\b", code)
    ]
    assert unread == []


def test_every_option_is_read_by_the_module_that_declares_it():
    unread = []
    for registry in (MODELS, INPUTS, PROTOCOLS):
        for entry in registry.values():
            if entry.options is None:
                continue
            module = sys.modules[entry.options.__module__]
            source = inspect.getsource(module) + code_of(
                ("model", "tasks"), skip=(Path(module.__file__).name,)
            )
            checks = entry.options.__dict__.get("__post_init__")  # its validation is not a use
            body = source.replace(inspect.getsource(checks), "") if checks else source
            unread += [
                f"{registry.kind} {entry.name}: {f.name}"
                for f in fields(entry.options)
                if not re.search(rf"\.{f.name}\b|\"{f.name}\"", body)
            ]
    assert unread == []
