"""Luigi parameters generated from the typed dataclasses: one configuration path.

Each stage defines its settings once, as a validated dataclass next to its code
(``FaceParams``, ``MagnifyParams``, ``TrainConfig``). This module turns the fields of such a
dataclass into Luigi parameters whose defaults come from a ``luigi.cfg`` section, so that

    luigi.cfg [train] epochs = 3     and     --epochs 3 on the command line

set the same field, and builds the dataclass back from a task (which validates it).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from typing import Any, Literal

import luigi

from pipeline.validation import ParamError


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``float | None`` -> (float, True); ``float`` -> (float, False)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return tp, False


#: what an optional number's option takes to mean "none" (Luigi reads an empty value as "not given")
NONE_WORDS = ("none", "off")


#: the default of a parameter whose value comes from elsewhere when not given (a training recipe)
FROM_RECIPE = "(recipe)"


class _OptionalNumber:
    """An optional int/float parameter that also parses ``none``/``off`` (any case) as None:
    ``--phase-bound none`` turns a default bound off."""

    def parse(self, x):
        if isinstance(x, str) and x.strip().lower() in NONE_WORDS:
            return None
        return super().parse(x)


class OptionalFloatParameter(_OptionalNumber, luigi.OptionalFloatParameter):
    pass


class OptionalIntParameter(_OptionalNumber, luigi.OptionalIntParameter):
    pass


class _Unsettable:
    """Mixed into a parameter whose default is :data:`FROM_RECIPE`: the marker survives Luigi's
    round trip through strings (tasks are serialised between workers) and its normalisation."""

    def parse(self, x):
        return FROM_RECIPE if x == FROM_RECIPE else super().parse(x)

    def serialize(self, x):
        return FROM_RECIPE if x == FROM_RECIPE else super().serialize(x)

    def normalize(self, x):
        return FROM_RECIPE if x == FROM_RECIPE else super().normalize(x)

    def _warn_on_wrong_param_type(self, param_name, param_value):
        if param_value != FROM_RECIPE:
            super()._warn_on_wrong_param_type(param_name, param_value)


@functools.cache
def _unsettable(cls: type) -> type:
    return type(cls.__name__, (_Unsettable, cls), {})


def _parameter_for(tp: Any, default: Any, section: str, name: str, help_text: str) -> luigi.Parameter:
    """A Luigi parameter for one dataclass field type (one that keeps the :data:`FROM_RECIPE` marker
    when that is the default)."""
    make = _unsettable if default == FROM_RECIPE else (lambda cls: cls)
    base, optional = _unwrap_optional(tp)
    kwargs = {"default": default, "config_path": {"section": section, "name": name}, "description": help_text}
    if typing.get_origin(base) is Literal:
        choices = typing.get_args(base)
        cls = make(luigi.OptionalChoiceParameter if optional else luigi.ChoiceParameter)
        return cls(choices=choices, var_type=type(choices[0]), **kwargs)
    if base is bool:
        return make(luigi.OptionalBoolParameter if optional else luigi.BoolParameter)(
            parsing=luigi.BoolParameter.EXPLICIT_PARSING, **kwargs
        )
    if base is int:
        return make(OptionalIntParameter if optional else luigi.IntParameter)(**kwargs)
    if base is float:
        return make(OptionalFloatParameter if optional else luigi.FloatParameter)(**kwargs)
    if typing.get_origin(base) in (tuple, list) or base in (tuple, list):
        if default is not None and default != FROM_RECIPE:
            kwargs["default"] = tuple(default)
        return make(luigi.OptionalTupleParameter if optional else luigi.TupleParameter)(**kwargs)
    return make(luigi.OptionalParameter if optional else luigi.Parameter)(**kwargs)


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"dataclass field {field.name!r} needs a default to be a Luigi parameter")


def parameters_of(
    dc_type: type,
    section: str,
    *,
    prefix: str = "",
    skip: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
    from_recipe: bool = False,
) -> dict:
    """Luigi parameters (``{attribute name: parameter}``) for the fields of ``dc_type``.

    Attribute names are ``prefix + field name`` (or ``rename[field]``); defaults are read from
    ``luigi.cfg`` section ``section`` under the plain field name, falling back to the dataclass
    default; with ``from_recipe`` to the marker :data:`FROM_RECIPE`, which `build_dataclass` replaces
    by its ``base`` value.
    """
    hints = typing.get_type_hints(dc_type)
    params = {}
    for field in dataclasses.fields(dc_type):
        if field.name in skip or not field.init:
            continue
        help_text = field.metadata.get("help", f"{dc_type.__name__}.{field.name}")
        default = FROM_RECIPE if from_recipe else _field_default(field)
        params[_attribute(field.name, prefix, rename)] = _parameter_for(
            hints[field.name], default, section, field.name, help_text
        )
    return params


def _attribute(name: str, prefix: str, rename: dict[str, str] | None) -> str:
    return (rename or {}).get(name, prefix + name)


def build_dataclass(
    task: luigi.Task,
    dc_type: type,
    *,
    prefix: str = "",
    rename: dict[str, str] | None = None,
    nested: dict[str, tuple[str, dict[str, str] | None]] | None = None,
    base: dict[str, Any] | None = None,
    **overrides: Any,
) -> Any:
    """Instantiate ``dc_type`` from the task's parameters (the dataclass validates itself).

    With ``base`` (e.g. a training recipe), a parameter left at the marker :data:`FROM_RECIPE` takes
    its value from ``base``, or the dataclass default when ``base`` has none.

    A :class:`~pipeline.validation.ParamError` is re-raised naming the command-line option:
    ``BuildDatasetCache: --face-size: must be an integer >= 16, got 4 (FaceParams.size)``.
    ``nested`` maps the owner of a nested dataclass's field (``"MagnifyParams"``) to its
    ``(prefix, rename)``, for rules the outer class checks on inner fields.
    """
    kwargs = {}
    for field in dataclasses.fields(dc_type):
        attribute = _attribute(field.name, prefix, rename)
        if field.name in overrides:
            kwargs[field.name] = overrides[field.name]
        elif hasattr(task, attribute):
            value = getattr(task, attribute)
            if base is not None and value == FROM_RECIPE:
                if field.name in base:
                    kwargs[field.name] = base[field.name]
                continue
            if isinstance(_field_default(field), list) and isinstance(value, tuple):
                value = list(value)
            if isinstance(value, float) and not math.isfinite(value):
                option = "--" + attribute.replace("_", "-")
                raise ValueError(
                    f"{task.get_task_family()}: {option}: must be a finite number, got {value} "
                    f"({dc_type.__name__}.{field.name})"
                )
            kwargs[field.name] = value
    try:
        return dc_type(**kwargs)
    except ParamError as err:
        spelling = {dc_type.__name__: (prefix, rename), **(nested or {})}
        if err.owner not in spelling:
            raise ValueError(f"{task.get_task_family()}: {err}") from err
        option = "--" + _attribute(err.field, *spelling[err.owner]).replace("_", "-")
        raise ValueError(
            f"{task.get_task_family()}: {option}: {err.detail} ({err.owner}.{err.field})"
        ) from err


def mixin(name: str, *groups: dict) -> type:
    """A plain class carrying the given Luigi parameters, to be mixed into tasks."""
    attrs: dict[str, Any] = {}
    for group in groups:
        clash = attrs.keys() & group.keys()
        if clash:
            raise TypeError(f"{name}: parameter names defined twice: {sorted(clash)}")
        attrs.update(group)
    return type(name, (), attrs)


def forward(task: luigi.Task, target_cls: type[luigi.Task], **extra) -> luigi.Task:
    """Instantiate ``target_cls`` with the parameters it shares with ``task`` (plus ``extra``)."""
    names = {name for name, _ in target_cls.get_params()}
    kwargs = {k: v for k, v in task.param_kwargs.items() if k in names}
    return target_cls(**{**kwargs, **extra})
