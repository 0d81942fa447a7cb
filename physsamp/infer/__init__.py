"""NumPyro kernels and estimators built on :mod:`physsamp.kernels`."""

from physsamp.infer._adapter import PhysicsKernel, PhysicsState
from physsamp.infer.block_gibbs import BlockGibbs
from physsamp.infer.parallel_tempering import ParallelTempering
from physsamp.infer.swendsen_wang import SwendsenWang
from physsamp.kernels.parallel_tempering import stepping_stone_log_partition

__all__ = [
    "BlockGibbs",
    "ParallelTempering",
    "PhysicsKernel",
    "PhysicsState",
    "SwendsenWang",
    "stepping_stone_log_partition",
]
