"""NumPyro kernels and estimators built on :mod:`physsamp.kernels`."""

from physsamp.infer._adapter import PhysicsKernel, PhysicsState
from physsamp.infer.block_gibbs import BlockGibbs

__all__ = ["BlockGibbs", "PhysicsKernel", "PhysicsState"]
