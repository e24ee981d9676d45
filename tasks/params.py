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


#: what a given-only option holds when the user set it to None (``--max-frames none``): its unset
#: value None means "not given" (the recipe's value holds)
GIVEN_NONE = "none"


class _GivenOnly:
    """Mixed into an option whose default None means "not given": ``none``/``off`` (any case) parse to
    :data:`GIVEN_NONE`, which survives Luigi's round trip through strings and its normalisation."""

    def parse(self, x):
        if isinstance(x, str) and x.strip().lower() in NONE_WORDS:
            return GIVEN_NONE
        return super().parse(x)

    def serialize(self, x):
        return GIVEN_NONE if x == GIVEN_NONE else super().serialize(x)

    def normalize(self, x):
        return GIVEN_NONE if x == GIVEN_NONE else super().normalize(x)

    def _warn_on_wrong_param_type(self, param_name, param_value):
        if param_value != GIVEN_NONE:
            super()._warn_on_wrong_param_type(param_name, param_value)


@functools.cache
def _given_only(cls: type) -> type:
    return type(cls.__name__, (_GivenOnly, cls), {})


def parameter_for(
    tp: Any, default: Any, section: str, name: str, help_text: str, *, given_only: bool = False
) -> luigi.Parameter:
    """A Luigi parameter for one dataclass field type; with ``given_only`` an optional one whose
    default None means "not given" (`given_options`)."""
    make = _given_only if given_only else (lambda cls: cls)
    base, optional = _unwrap_optional(tp)
    optional = optional or given_only
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
        if default is not None:
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
    given_only: bool = False,
) -> dict:
    """Luigi parameters (``{attribute name: parameter}``) for the fields of ``dc_type``.

    Attribute names are ``prefix + field name`` (or ``rename[field]``); defaults are read from
    ``luigi.cfg`` section ``section`` under the plain field name, falling back to the dataclass
    default; with ``given_only`` to None, "not given" (`given_options` reads them).
    """
    hints = typing.get_type_hints(dc_type)
    params = {}
    for field in dataclasses.fields(dc_type):
        if field.name in skip or not field.init:
            continue
        help_text = field.metadata.get("help", f"{dc_type.__name__}.{field.name}")
        default = None if given_only else _field_default(field)
        params[_attribute(field.name, prefix, rename)] = parameter_for(
            hints[field.name], default, section, field.name, help_text, given_only=given_only
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
    **overrides: Any,
) -> Any:
    """Instantiate ``dc_type`` from the task's parameters (the dataclass validates itself).

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
            value = _finite(task, attribute, f"{dc_type.__name__}.{field.name}", getattr(task, attribute))
            if isinstance(_field_default(field), list) and isinstance(value, tuple):
                value = list(value)
            kwargs[field.name] = value
    spelling = {dc_type.__name__: (prefix, rename), **(nested or {})}
    return with_options(task, lambda: dc_type(**kwargs), lambda err: spelling.get(err.owner))


def given_options(task: luigi.Task, owners: dict[str, str]) -> dict[str, Any]:
    """The given-only options (`parameters_of(..., given_only=True)`) that the command line or luigi.cfg
    set, among ``owners`` (``{option: the class that defines it}``): ``{name: value}`` (``none`` -> None)."""
    given = {}
    for name, owner in owners.items():
        value = getattr(task, name, None)
        if value is not None:
            given[name] = None if value == GIVEN_NONE else _finite(task, name, f"{owner}.{name}", value)
    return given


def with_options(task: luigi.Task, make: typing.Callable[[], Any], spelling=lambda err: ("", None)) -> Any:
    """``make()``, with a :class:`~pipeline.validation.ParamError` re-raised as a ValueError naming the
    command-line option (``spelling(err)``: the ``(prefix, rename)`` of the error's owner; None: name
    the field only)."""
    try:
        return make()
    except ParamError as err:
        spelled = spelling(err)
        if spelled is None:
            raise ValueError(f"{task.get_task_family()}: {err}") from err
        option = "--" + _attribute(err.field, *spelled).replace("_", "-")
        raise ValueError(
            f"{task.get_task_family()}: {option}: {err.detail} ({err.owner}.{err.field})"
        ) from err


def _finite(task: luigi.Task, attribute: str, owner_field: str, value: Any) -> Any:
    """``value``, unless it is a NaN or infinite float: then a ValueError naming the option."""
    if isinstance(value, float) and not math.isfinite(value):
        option = "--" + attribute.replace("_", "-")
        raise ValueError(
            f"{task.get_task_family()}: {option}: must be a finite number, got {value} ({owner_field})"
        )
    return value


def register_options(target: type, registry, section: str, prefix: str = "") -> None:
    """Give ``target`` (a task mixin) the options of every entry of ``registry`` (models, protocols,
    face backends, magnifiers: `pipeline.registry.Registry`), now and when one is registered later (a
    plug-in module loaded with ``luigi --module``): ``--<prefix><field>`` and ``[section] <field>``,
    given-only (an entry's own default holds when not given; `entry_options`). An option name shared by
    entries is one option."""

    def add(entry) -> None:
        if entry.options is None:
            return
        hints = typing.get_type_hints(entry.options)
        for field in dataclasses.fields(entry.options):
            attribute = prefix + field.name
            if hasattr(target, attribute):
                continue
            help_text = f"{entry.options.__name__}.{field.name} ({registry.kind} {entry.name})"
            option = parameter_for(hints[field.name], None, section, field.name, help_text, given_only=True)
            setattr(target, attribute, option)
            option.__set_name__(target, attribute)  # as class creation does for the others

    registry.on_register(add)


def entry_options(task: luigi.Task, options: type | None, prefix: str = "") -> dict[str, Any]:
    """The fields of an entry's ``options`` dataclass that the task's options set (`register_options`)."""
    if options is None:
        return {}
    owners = {prefix + f.name: options.__name__ for f in dataclasses.fields(options)}
    return {name[len(prefix) :]: value for name, value in given_options(task, owners).items()}


def mixin(name: str, *groups: dict, bases: tuple[type, ...] = ()) -> type:
    """A plain class (subclassing ``bases``) carrying the given Luigi parameters, to be mixed into tasks."""
    attrs: dict[str, Any] = {}
    for group in groups:
        clash = attrs.keys() & group.keys()
        if clash:
            raise TypeError(f"{name}: parameter names defined twice: {sorted(clash)}")
        attrs.update(group)
    return type(name, bases, attrs)
