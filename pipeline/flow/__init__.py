"""Onset -> apex optical flow and optical strain: the input of the flow baseline (``flow-cnn``).

``compute``: the flow of one frame pair (OpenCV TV-L1, or Farneback), optical strain, the apex rule.
``file``: the per-cache flow file (a derived artifact named after the cache's content), computed in
resumable shards by worker processes and written atomically. ``dataset``: a PyTorch dataset of it.
"""

from .compute import (
    APEX_AT_ONSET,
    APEX_UNKNOWN,
    FLOW_METHODS,
    FarnebackParams,
    FlowParams,
    TVL1Params,
    apex_rule,
    flow_apex,
    flow_params,
    onset_apex_flow,
    optical_flow,
    optical_strain,
)
from .dataset import FlowDataset
from .file import FLOW_FORMAT, FlowError, compute_flow_file, flow_identity, open_flow

__all__ = [
    "APEX_AT_ONSET",
    "APEX_UNKNOWN",
    "FLOW_FORMAT",
    "FLOW_METHODS",
    "FarnebackParams",
    "TVL1Params",
    "apex_rule",
    "flow_identity",
    "flow_params",
    "FlowDataset",
    "FlowError",
    "FlowParams",
    "compute_flow_file",
    "flow_apex",
    "onset_apex_flow",
    "open_flow",
    "optical_flow",
    "optical_strain",
]
