"""Hand-crafted clip features (numeric functions only): LBP-TOP (`lbptop`)."""

from .lbptop import LBPTOPParams, lbp_codes, lbptop_features, uniform_bins

__all__ = ["LBPTOPParams", "lbp_codes", "lbptop_features", "uniform_bins"]
