"""Built-in synthetic micro-expression dataset in the CASME II layout.

``python -m pipeline.synthetic --out DIR --seed N`` writes it; see :func:`write_dataset`.
"""

from .dataset import SHEET_HEADER, SHEET_NAME, TRUTH_NAME, SyntheticPlan, plan_dataset, write_dataset
from .motion import Motion, envelope, expression_motion, gaussian_field
from .params import CLASSES, SyntheticParams
from .render import ClipSpec, displacement_field, render_clip, render_frame

__all__ = [
    "CLASSES",
    "SHEET_HEADER",
    "SHEET_NAME",
    "TRUTH_NAME",
    "ClipSpec",
    "Motion",
    "SyntheticPlan",
    "SyntheticParams",
    "displacement_field",
    "envelope",
    "expression_motion",
    "gaussian_field",
    "plan_dataset",
    "render_clip",
    "render_frame",
    "write_dataset",
]
