"""The toy plug-ins, loaded together: ``luigi --module toys ...`` with this folder on PYTHONPATH."""

import toy_backend  # noqa: F401
import toy_magnifier  # noqa: F401
import toy_model  # noqa: F401
import toy_protocol  # noqa: F401

import tasks  # noqa: F401  (the toolkit's tasks first, as a plug-in package would import them)
