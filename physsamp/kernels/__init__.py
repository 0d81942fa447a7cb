"""Pure, jit- and vmap-able sampling kernels: ``init`` and ``build_kernel`` per module."""

from physsamp.kernels import block_gibbs

__all__ = ["block_gibbs"]
