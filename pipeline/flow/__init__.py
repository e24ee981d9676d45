"""Onset -> apex optical flow and optical strain: the input of the flow baseline (``flow-cnn``).

``compute``: the flow of one frame pair (OpenCV Farneback), optical strain, the apex rule.
``file``: the per-cache flow file (a derived artifact named after the cache's content), computed in
resumable shards by worker processes and written atomically. ``dataset``: a PyTorch dataset of it.
"""

from .compute import FlowParams, flow_apex, onset_apex_flow, optical_flow, optical_strain
from .dataset import FlowDataset
from .file import FLOW_FORMAT, FlowError, compute_flow_file, open_flow

__all__ = [
    "FLOW_FORMAT",
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
