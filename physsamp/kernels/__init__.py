"""Pure, jit- and vmap-able sampling kernels: ``init`` and ``build_kernel`` per sampling
module, the Houdayer move between two replicas (:mod:`~physsamp.kernels.houdayer`), and
:func:`sample_chains` to run many chains of one kernel without NumPyro."""

from physsamp.kernels import ais, block_gibbs, houdayer, parallel_tempering, swendsen_wang
from physsamp.kernels._loop import sample_chains

__all__ = [
    "ais",
    "block_gibbs",
    "houdayer",
    "parallel_tempering",
    "sample_chains",
    "swendsen_wang",
]
