"""Unknown keys in the toolkit's own luigi.cfg sections fail when a task is built, listing the known keys.

A misspelt key (``[magnify] alfa = 0``) would otherwise be ignored and the default used. The toolkit's
sections are those its tasks' parameters read (``config_path``: ``[paths]``, ``[faces]``, ``[magnify]``,
``[preprocess]``, ``[synthetic]``, ``[train]``, ``[benchmark]``, ``[pretrain]``) and its ``luigi.Config``
classes (``[progress]``); ``[datasets]`` is checked by ``tasks.config.dataset_roots``. Luigi's own
sections (``[core]``, ``[retcode]``, ``[resources]``, ``[<TaskName>]``, ...) are Luigi's to check.
"""

from __future__ import annotations

import luigi
import luigi.configuration
from luigi.task_register import Register

from tasks.configfile import describe_configuration


def _is_toolkit(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "tasks"


def toolkit_keys() -> dict[str, set[str]]:
    """``{section: known keys}`` of every section the toolkit's tasks and configuration classes read."""
    known: dict[str, set[str]] = {}
    for cls in set(Register._get_reg().values()):
        if not isinstance(cls, type) or not _is_toolkit(cls):
            continue
        for name, param in cls.get_params():
            path = getattr(param, "_config_path", None)
            if path:
                known.setdefault(path["section"], set()).add(path["name"])
            elif issubclass(cls, luigi.Config):
                known.setdefault(cls.get_task_family(), set()).add(name)
    return known


def unknown_keys() -> dict[str, list[str]]:
    """``{section: [unknown keys]}`` of the configuration read (dashes and underscores alike, as Luigi)."""
    config = luigi.configuration.get_config()
    defaults = set(config.defaults())
    unknown = {}
    for section, keys in sorted(toolkit_keys().items()):
        if not config.has_section(section):
            continue
        wanted = {k.replace("-", "_") for k in keys}
        bad = [k for k in config.options(section) if k not in defaults and k.replace("-", "_") not in wanted]
        if bad:
            unknown[section] = bad
    return unknown


def check_config_keys() -> None:
    """Raise a ValueError naming each unknown key of the toolkit's sections and the known keys."""
    unknown = unknown_keys()
    if not unknown:
        return
    known = toolkit_keys()
    lines = [
        f"[{section}] {', '.join(keys)}: unknown key(s); known: {', '.join(sorted(known[section]))}"
        for section, keys in unknown.items()
    ]
    raise ValueError(f"luigi.cfg ({describe_configuration()}):\n  " + "\n  ".join(lines))
