"""Which configuration file the tasks use, said in the log and in every report.

Luigi reads ``luigi.cfg`` from the current folder (and ``LUIGI_CONFIG_PATH``). Run from another
folder, it would silently fall back to the dataclass defaults; instead, the repository's own
``luigi.cfg`` (beside this package in an editable install or a checkout) is loaded, and the log and
reports name the files used.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import luigi.configuration

log = logging.getLogger(__name__)

#: the configuration shipped with the repository
SHIPPED = Path(__file__).resolve().parents[1] / "luigi.cfg"


def files_read() -> list[str]:
    """Absolute paths of the configuration files Luigi's parser has read (those that exist)."""
    parser = luigi.configuration.get_config()
    paths = getattr(type(parser), "_config_paths", [])
    return list(dict.fromkeys(str(Path(p).resolve()) for p in paths if os.path.isfile(p)))


#: ``[retcode]`` of the luigi command: every failure exits non-zero (Luigi's defaults are 0).
#: Applied where a configuration file does not set them; luigi.cfg pins the same values.
#: ``already_running`` and ``not_run`` stay 0: with a central scheduler, folds that another worker
#: runs are reported so ("run by another worker", "not granted run permission"), which is how folds
#: are shared, not a failure. Two processes writing one output meet the tasks' own locks instead
#: (``task_failed``), and Luigi's command-line pid lock is off (``[core] no_lock``).
RETCODES = {
    "already_running": 0,
    "missing_data": 20,
    "not_run": 0,
    "task_failed": 30,
    "scheduling_error": 35,
    "unhandled_exception": 40,
}


def load_configuration() -> list[str]:
    """Make sure a configuration is read: the user's, else the shipped one; failures exit non-zero.

    Returns the configuration files used.
    """
    used = files_read()
    if not used and SHIPPED.is_file():
        luigi.configuration.add_config_path(str(SHIPPED))
        used = files_read()
        log.info("no luigi.cfg in %s: using the shipped configuration %s", os.getcwd(), SHIPPED)
    if not used:
        log.warning("no luigi.cfg found (current folder %s): using built-in defaults", os.getcwd())
    config = luigi.configuration.get_config()
    for name, code in RETCODES.items():
        if not config.has_option("retcode", name):
            config.set("retcode", name, str(code))
    return used


def describe_configuration() -> str:
    """``"configuration: /path/luigi.cfg"`` (or ``"configuration: built-in defaults"``) for messages."""
    used = files_read()
    return "configuration: " + (", ".join(used) if used else "built-in defaults (no luigi.cfg)")
