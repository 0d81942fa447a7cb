"""Block Gibbs as a NumPyro kernel."""

from __future__ import annotations

from collections.abc import Callable

from physsamp.infer._adapter import PhysicsKernel
from physsamp.kernels import block_gibbs


class BlockGibbs(PhysicsKernel):
    """Block (chromatic) Gibbs sampling of every physsamp site of a NumPyro model.

    Each MCMC step makes ``num_sweeps`` sweeps of :mod:`physsamp.kernels.block_gibbs`: every
    colour class of mutually non-interacting sites is redrawn from its exact conditional
    (checkerboard on lattices, layer by layer on an RBM). Sites that depend on the spins
    (data) are folded into their conditional; other latent sites belong to other blocks of
    ``numpyro.infer.Gibbs`` (see the docs page "Spins inside NumPyro models"); what cannot be
    sampled exactly raises.

    Args:
        model: a NumPyro model with one or more ``physsamp`` sites.
        num_sweeps: sweeps per MCMC step.
        generator: "hash" (fast counter-based uniforms, default) or "jax".

    Example:
        >>> import jax, numpyro, physsamp as ps
        >>> from numpyro.infer import MCMC
        >>> def model():
        ...     numpyro.sample("spins", ps.Ising.lattice((8, 8), beta=0.3))
        >>> mcmc = MCMC(ps.infer.BlockGibbs(model), num_warmup=10, num_samples=20,
        ...             progress_bar=False)
        >>> mcmc.run(jax.random.key(0))
        >>> mcmc.get_samples()["spins"].shape
        (20, 64)
    """

    def __init__(self, model: Callable, num_sweeps: int = 1, generator: str = "hash"):
        super().__init__(model)
        self._step = block_gibbs.build_kernel(num_sweeps=num_sweeps, generator=generator)
        self.num_sweeps = num_sweeps

    def kernel_init(self, position, model):
        return block_gibbs.init(position, model)

    def kernel_step(self, rng_key, state, model):
        return self._step(rng_key, state, model)
