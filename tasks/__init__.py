"""Luigi tasks: ``luigi --module tasks FullBenchmark --local-scheduler`` (see README).

Tasks only wire inputs, outputs and parameters; the work is done in ``pipeline`` and ``model``.
"""

from tasks.configfile import load_configuration

load_configuration()  # before any task reads a default: the user's luigi.cfg, else the shipped one

from tasks.benchmark import FullBenchmark  # noqa: E402
from tasks.cache import BuildDatasetCache, SyntheticDataset  # noqa: E402
from tasks.flow import ComputeFlow, ExportFlow  # noqa: E402
from tasks.pretrain import BuiltinPretrainSet, PretrainCNN, PretrainFaces  # noqa: E402
from tasks.train import TrainFold, TrainLOSO  # noqa: E402

__all__ = [
    "BuildDatasetCache", "BuiltinPretrainSet", "ComputeFlow", "ExportFlow", "FullBenchmark", "PretrainCNN", "PretrainFaces",
    "SyntheticDataset", "TrainFold", "TrainLOSO",
]  # fmt: skip
