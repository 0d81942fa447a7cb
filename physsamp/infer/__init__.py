"""NumPyro kernels and estimators built on :mod:`physsamp.kernels`."""

from physsamp.infer._adapter import PhysicsKernel, PhysicsState
from physsamp.infer.block_gibbs import BlockGibbs
from physsamp.infer.swendsen_wang import SwendsenWang

__all__ = ["BlockGibbs", "PhysicsKernel", "PhysicsState", "SwendsenWang"]
