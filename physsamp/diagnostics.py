"""Observables, conversion of runs to ArviZ ``InferenceData``, and autocorrelation times.

ArviZ is imported only inside the functions that need it (and after NumPyro, as arviz >= 1.0
requires).
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from physsamp.models.base import EnergyModel


def magnetization(model: EnergyModel, x: ArrayLike) -> Float[Array, "..."]:
    """Mean spin per site, with units mapped to spins (``2x - 1`` for {0, 1} units)."""
    values = jnp.asarray(x).astype(jnp.float32)
    down, up = model.unit_values
    spins = (2 * values - (up + down)) / (up - down)
    return spins.mean(axis=-1)


def observables(model: EnergyModel, x: ArrayLike) -> dict[str, Float[Array, "..."]]:
    """Per-configuration observables of ``x [..., num_sites]``: ``energy`` (per site; for an
    RBM the free energy per visible unit), ``magnetization`` and ``abs_magnetization`` (per
    site)."""
    energy = _batched_energy(model, jnp.asarray(x))
    m = magnetization(model, x)
    return {"energy": energy / model.num_sites, "magnetization": m, "abs_magnetization": abs(m)}


@jax.jit
def _energy_rows(model: EnergyModel, rows: Array) -> Array:
    return jax.lax.map(model.energy, rows, batch_size=64)


def _batched_energy(model: EnergyModel, x: Array) -> Array:
    flat = x.reshape(-1, model.num_sites)
    return _energy_rows(model, flat).reshape(x.shape[:-1])


def to_inference_data(mcmc: Any, include_spins: bool = True, **kwargs: Any):
    """An ArviZ ``InferenceData`` of a :class:`numpyro.infer.MCMC` run with a physsamp kernel,
    alone or as a block of ``numpyro.infer.Gibbs`` (the other blocks' sites then sit beside the
    spins' observables in the posterior group; pass ``extra_fields=("block_states.<i>.stats",)``
    to ``mcmc.run`` for block ``i``'s per-step information).

    The posterior group holds, per physsamp site ``s`` and draw, the observables of
    :func:`observables` (named ``energy``, ``magnetization``, ``abs_magnetization`` when the
    model has one physsamp site, ``s_energy`` and so on otherwise), the site's values unless
    ``include_spins=False``, and any deterministic site. ``sample_stats`` holds ``lp`` (minus the
    potential energy: the unnormalised log density) and the kernel's per-step information.
    Constant observables in a chain (a frozen chain, whose ESS ArviZ reports as the number of
    draws) raise a warning. Extra keyword arguments go to :func:`arviz.from_numpyro`.

    Example:
        >>> import jax, numpyro, physsamp as ps
        >>> from numpyro.infer import MCMC
        >>> def model():
        ...     numpyro.sample("spins", ps.Ising.lattice((8, 8), beta=0.3))
        >>> mcmc = MCMC(ps.infer.BlockGibbs(model), num_warmup=10, num_samples=50,
        ...             num_chains=2, chain_method="vectorized", progress_bar=False)
        >>> mcmc.run(jax.random.key(0))
        >>> idata = ps.to_inference_data(mcmc)
        >>> sorted(idata.posterior.data_vars)
        ['abs_magnetization', 'energy', 'magnetization', 'spins']
    """
    import arviz as az

    from physsamp.infer.exchange import Exchange

    kernels = _physics_kernels(mcmc.sampler)
    blocks = [kernel for kernel, _ in getattr(mcmc.sampler, "blocks", ())]
    if not kernels and not any(isinstance(k, Exchange) for k in [mcmc.sampler, *blocks]):
        raise TypeError(
            "to_inference_data needs an MCMC run with a physsamp kernel (BlockGibbs, "
            "SwendsenWang, ParallelTempering, Exchange), alone or as a block of "
            "numpyro.infer.Gibbs"
        )
    idata: Any = az.from_numpyro(mcmc, **kwargs)
    samples = mcmc.get_samples(group_by_chain=True)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    sites = {name: model for _, kernel in kernels for name, model in kernel.sites.items()}
    single = len(sites) == 1
    posterior = idata.posterior
    for name, model in sites.items():
        values = observables(model, samples[name])
        for key, value in values.items():
            label = key if single else f"{name}_{key}"
            posterior[label] = (("chain", "draw"), np.asarray(value))
            _warn_if_frozen(label, np.asarray(value))
        if not include_spins:
            posterior = posterior.drop_vars([name, *[d for d in posterior[name].dims
                                                     if d not in ("chain", "draw")]])  # fmt: skip
    idata.posterior = posterior
    stats = {}
    for prefix, _ in kernels:
        stats.update(extra.get(f"{prefix}stats", {}))
    group = {}
    for key, value in stats.items():
        array = np.asarray(value)
        dims = ("chain", "draw", *(f"{key}_dim_{i}" for i in range(array.ndim - 2)))
        group[key] = (dims, array)
    if group and "sample_stats" not in idata.groups():
        # a composite such as numpyro.infer.Gibbs reports no sampler statistics of its own
        idata.add_groups(sample_stats=az.convert_to_dataset({k: v[1] for k, v in group.items()}))
    else:
        for key, entry in group.items():
            idata.sample_stats[key] = entry
    return idata


def _physics_kernels(sampler: Any) -> list[tuple[str, Any]]:
    """The physsamp kernels of a run with the prefix of their extra fields: the sampler
    itself, or the physsamp blocks of a ``numpyro.infer.Gibbs`` composite."""
    from physsamp.infer._adapter import PhysicsKernel

    if isinstance(sampler, PhysicsKernel):
        return [("", sampler)]
    blocks: list[tuple[Any, Any]] = list(getattr(sampler, "blocks", ()))
    return [
        (f"block_states.{i}.", kernel)
        for i, (kernel, _) in enumerate(blocks)
        if isinstance(kernel, PhysicsKernel)
    ]


def _warn_if_frozen(label: str, values: np.ndarray) -> None:
    if values.shape[1] < 2:
        return
    frozen = np.flatnonzero(np.ptp(values, axis=1) == 0)
    if frozen.size:
        warnings.warn(
            f"{label} is constant in chain(s) {frozen.tolist()}: the chain is frozen (ArviZ then "
            "reports an ESS equal to the number of draws); lower beta or use a cluster or "
            "tempering kernel",
            RuntimeWarning,
            stacklevel=3,
        )


def integrated_autocorrelation_time(x: ArrayLike) -> float:
    r"""Integrated autocorrelation time of draws ``x [chain, draw]`` (or ``[draw]``), in steps,
    in the physics convention :math:`\tau_{int} = \tfrac12 + \sum_{t \ge 1} \rho(t)`, so
    that the variance of the mean is :math:`2 \tau_{int} \sigma^2 / n` (Sokal, "Monte Carlo
    methods in statistical mechanics", 1997): :math:`\tau_{int} = n / (2\,\text{ESS})` with
    ArviZ's "mean" ESS (Geyer's initial monotone sequence). Independent draws give 1/2.

    Example:
        >>> import numpy as np
        >>> from physsamp.diagnostics import integrated_autocorrelation_time
        >>> tau = integrated_autocorrelation_time(np.random.default_rng(0).normal(size=(4, 5000)))
        >>> bool(0.4 < tau < 0.6)
        True
    """
    import arviz as az

    draws = np.asarray(x, dtype=np.float64)
    if draws.ndim == 1:
        draws = draws[None]
    ess = float(az.ess(draws, method="mean"))
    return draws.size / (2 * ess)
