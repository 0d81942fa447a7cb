"""Swendsen–Wang as a NumPyro kernel."""

from __future__ import annotations

from collections.abc import Callable

from physsamp.infer._adapter import PhysicsKernel
from physsamp.kernels import swendsen_wang


class SwendsenWang(PhysicsKernel):
    r"""Swendsen–Wang cluster sampling of every physsamp site of a NumPyro model.

    Each MCMC step makes ``num_sweeps`` sweeps of :mod:`physsamp.kernels.swendsen_wang`
    (Swendsen & Wang, PRL 58, 86 (1987); Edwards & Sokal, PRD 38, 2009 (1988)): every satisfied
    bond is activated with probability :math:`1 - e^{-2\beta|J_{ij}|}`, the clusters of active
    bonds are labelled inside ``jit``, and each cluster is kept or reversed with probability
    :math:`\sigma(\pm 2\beta \sum_{i \in C} h_i s_i)`. Exact for every Ising model and Boltzmann
    machine (any graph, couplings of any sign, any fields); near a critical point it
    decorrelates in a few steps where single-site or checkerboard updates need hundreds.
    Frustrated models are sampled correctly but slowly. An RBM site raises ``TypeError`` (use
    :class:`~physsamp.infer.BlockGibbs`).

    The per-step information (``num_clusters``, ``largest_cluster``, ``labelling_iterations``,
    ``improved_m2``) lands in ``sample_stats`` of :func:`physsamp.to_inference_data` when
    ``"stats"`` is among the extra fields, which it is by default.

    Args:
        model: a NumPyro model with one or more ``physsamp`` Ising or Boltzmann machine sites;
            sites that depend on them are folded into their conditional, and other latent
            sites belong to other blocks of ``numpyro.infer.Gibbs``.
        num_sweeps: sweeps per MCMC step.
        generator: "hash" (fast counter-based uniforms, default) or "jax".

    Example:
        >>> import jax, numpyro, physsamp as ps
        >>> from numpyro.infer import MCMC
        >>> from physsamp.infer.swendsen_wang import SwendsenWang
        >>> def model():
        ...     numpyro.sample("spins", ps.Ising.lattice((16, 16), beta=0.4406868))
        >>> mcmc = MCMC(SwendsenWang(model), num_warmup=10, num_samples=20, num_chains=2,
        ...             chain_method="vectorized", progress_bar=False)
        >>> mcmc.run(jax.random.key(0))
        >>> mcmc.get_samples()["spins"].shape
        (40, 256)
        >>> idata = ps.to_inference_data(mcmc)
        >>> idata.sample_stats["largest_cluster"].shape
        (2, 20)
    """

    def __init__(self, model: Callable, num_sweeps: int = 1, generator: str = "hash"):
        super().__init__(model)
        self._step = swendsen_wang.build_kernel(num_sweeps=num_sweeps, generator=generator)
        self.num_sweeps = num_sweeps

    def kernel_init(self, position, model):
        return swendsen_wang.init(position, model)

    def kernel_step(self, rng_key, state, model):
        return self._step(rng_key, state, model)
