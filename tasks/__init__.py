"""Luigi tasks: ``luigi --module tasks FullBenchmark --local-scheduler`` (see README).

Tasks only wire inputs, outputs and parameters; the work is done in ``pipeline`` and ``model``.
"""

from tasks.benchmark import FullBenchmark
from tasks.cache import BuildDatasetCache, SyntheticDataset
from tasks.train import TrainFold, TrainLOSO

__all__ = ["BuildDatasetCache", "FullBenchmark", "SyntheticDataset", "TrainFold", "TrainLOSO"]
