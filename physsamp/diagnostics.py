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
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Float

from physsamp.models.base import EnergyModel, matmul
from physsamp.models.pairwise import Hopfield
from physsamp.models.rbm import RBM

#: the name of the ``InferenceData`` group that holds the configurations on request
CONFIGURATIONS_GROUP = "configurations"
#: the group of a two-copy tempering run's overlap distributions and Binder ratios
TEMPERING_GROUP = "tempering"

#: unit values per call of the compiled observables (see :func:`_rows_per_chunk`)
_CHUNK_UNITS = 1 << 22


def magnetization(model: EnergyModel, x: ArrayLike) -> Float[Array, "..."]:
    """Mean spin per site, with units mapped to spins (``2x - 1`` for {0, 1} units)."""
    values = jnp.asarray(x).astype(jnp.float32)
    down, up = model.unit_values
    spins = (2 * values - (up + down)) / (up - down)
    return spins.mean(axis=-1)


def observables(model: EnergyModel, x: ArrayLike) -> dict[str, Float[Array, "..."]]:
    r"""Per-configuration observables of ``x [..., num_sites]``, by kind of model:

    - every model but an RBM: ``energy`` (per site), ``magnetization`` (the mean unit mapped
      to a spin, ``2x - 1`` for {0, 1} units) and ``abs_magnetization``;
    - a :class:`~physsamp.Hopfield` network, besides: ``overlap [..., patterns]``, the overlap
      :math:`m_\mu = \frac1N \sum_i \xi^\mu_i s_i` with each stored pattern;
    - an :class:`~physsamp.RBM` (``x``: its visible units): ``free_energy`` (per visible unit,
      :math:`F(v) / n_v`, see :meth:`~physsamp.RBM.energy`), ``visible_activity`` (the mean
      visible unit) and ``hidden_activation`` (the mean over hidden units of
      :math:`p(h_j = 1 \mid v)`).

    The function is compiled once per model structure (graph, lattice shape, numbers of units
    and patterns) and runs on chunks of a fixed number of configurations: another number of
    draws, another beta or other couplings cost no compilation.

    Example:
        >>> import numpy as np, physsamp as ps
        >>> net = ps.Hopfield.from_patterns([[1, 1, -1, -1], [1, -1, 1, -1]])
        >>> values = ps.diagnostics.observables(net, np.array([[1, 1, -1, 1]], np.int8))
        >>> np.asarray(values["overlap"]).tolist()
        [[0.5, -0.5]]
    """
    if isinstance(x, Tracer):
        return _observables_of_rows(model, x)
    array = np.asarray(x)
    if array.shape[-1:] != (model.num_sites,):
        raise ValueError(
            f"{type(model).__name__} has {model.num_sites} sites, got configurations of shape "
            f"{array.shape}"
        )
    batch = array.shape[:-1]
    integral = np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_
    dtype = np.int8 if integral else np.float32  # one compilation whatever the integers
    rows = array.reshape(-1, model.num_sites).astype(dtype, copy=False)
    num_rows = rows.shape[0]
    chunk = _rows_per_chunk(model.num_sites)
    pieces = []
    for start in range(0, max(num_rows, 1), chunk):
        part = rows[start : start + chunk]
        if part.shape[0] < chunk:  # padded with valid configurations: finite, then dropped
            filler = np.full((chunk - part.shape[0], model.num_sites), model.unit_values[0])
            part = np.concatenate([part, filler.astype(rows.dtype)])
        pieces.append(jax.device_get(_observables_jit(model, part)))
    values = {}
    for name in pieces[0]:
        joined = np.concatenate([piece[name] for piece in pieces])[:num_rows]
        values[name] = jnp.asarray(joined.reshape(batch + joined.shape[1:]))
    return values


def _rows_per_chunk(num_sites: int) -> int:
    """A power of two of configurations, at most 4096, with about ``_CHUNK_UNITS`` unit
    values in all: it depends on the model's size only, so the observables compile once per
    model, and their temporaries stay bounded on a lattice of a million sites."""
    rows = max(1, _CHUNK_UNITS // max(1, num_sites))
    return min(4096, 1 << (rows.bit_length() - 1))


def _observables_of_rows(model: EnergyModel, rows: Array) -> dict[str, Array]:
    if isinstance(model, RBM):
        visible = rows.astype(jnp.float32)
        return {
            "free_energy": model.energy(rows) / model.num_visible,
            "visible_activity": visible.mean(axis=-1),
            "hidden_activation": model.hidden_given_visible(visible).mean(axis=-1),
        }
    m = magnetization(model, rows)
    values = {
        "energy": model.energy(rows) / model.num_sites,
        "magnetization": m,
        "abs_magnetization": jnp.abs(m),
    }
    if isinstance(model, Hopfield):
        spins = rows.astype(jnp.float32)
        values["overlap"] = matmul(spins, model.patterns.T.astype(jnp.float32)) / model.num_sites
    return values


# The model is an argument: jit's cache, keyed on its structure, serves every model of that
# structure (beta, couplings and fields are leaves).
_observables_jit = jax.jit(_observables_of_rows)


def to_inference_data(
    mcmc: Any, configurations: bool = False, *, include_spins: bool | None = None, **kwargs: Any
):
    """An ArviZ ``InferenceData`` of a :class:`numpyro.infer.MCMC` run with a physsamp kernel,
    alone or as a block of ``numpyro.infer.Gibbs`` (the other blocks' sites then sit beside the
    spins' observables in the posterior group; pass ``extra_fields=("block_states.<i>.stats",)``
    to ``mcmc.run`` for block ``i``'s per-step information).

    The posterior group holds what ``az.summary(idata)`` and ``az.plot_trace(idata)`` should
    show: per physsamp site and draw, the observables of :func:`observables` (for an Ising
    model ``energy``, ``magnetization``, ``abs_magnetization``; a Hopfield network adds
    ``overlap`` along a ``pattern`` dimension; an RBM has ``free_energy``,
    ``visible_activity`` and ``hidden_activation``), prefixed with the site's name and ``_``
    when the model has several physsamp sites; the other latent sites of a composition (a
    noise scale, a random beta); and any deterministic site. The configurations themselves
    are not there: thousands of units per draw, many of them constant, would each get a row
    of the summary (and, for a constant unit, a warning from ArviZ). With
    ``configurations=True`` they are kept in a group of their own, ``idata.configurations``
    (one ``[chain, draw, site]`` variable per physsamp site), which ArviZ functions read with
    ``group="configurations"`` and netCDF files store like any other group.

    ``sample_stats`` holds ``lp`` (minus the potential energy: the unnormalised log density)
    and the kernel's per-step information. A chain whose configuration never changes (a
    frozen chain, whose ESS ArviZ reports as the number of draws) raises a warning. Extra
    keyword arguments go to :func:`arviz.from_numpyro`. ``include_spins`` is the deprecated
    name of ``configurations``.

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
        ['abs_magnetization', 'energy', 'magnetization']
        >>> ps.to_inference_data(mcmc, configurations=True).configurations["spins"].shape
        (2, 50, 64)
    """
    import arviz as az
    import xarray as xr

    from physsamp.infer.exchange import Exchange

    if include_spins is not None:
        warnings.warn(
            "include_spins is deprecated: the configurations are no longer in the posterior "
            "group; pass configurations=True to keep them in idata.configurations",
            DeprecationWarning,
            stacklevel=2,
        )
        configurations = bool(include_spins)
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
        draws = np.asarray(samples[name])
        _warn_if_frozen(name, draws)
        for key, value in observables(model, draws).items():
            label = key if single else f"{name}_{key}"
            array = np.asarray(value)
            dims = ["chain", "draw"]
            coords = {}
            if array.ndim == 3:  # one value per stored pattern
                dims.append("pattern" if single else f"{name}_pattern")
                coords[dims[-1]] = np.arange(array.shape[-1])
            posterior[label] = xr.DataArray(array, dims=dims, coords=coords)
    stored = [name for name in sites if name in posterior.data_vars]
    moved = posterior[stored]
    posterior = _without_unused_coords(posterior.drop_vars(stored))
    idata.posterior = posterior
    if configurations and stored:
        idata.add_groups({CONFIGURATIONS_GROUP: moved})
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
    _add_tempering(idata, mcmc, kernels, extra)
    return idata


def _add_tempering(idata: Any, mcmc: Any, kernels: list, extra: dict) -> None:
    """For a parallel-tempering run: the health verdicts as ``sample_stats`` attributes and,
    with two copies, the overlaps per draw and temperature in ``sample_stats`` and their
    distributions and Binder ratios in a ``tempering`` group."""
    import xarray as xr

    from physsamp.infer.parallel_tempering import ParallelTempering
    from physsamp.kernels.parallel_tempering import binder_ratio

    if mcmc.sampler is not next((k for _, k in kernels), None):
        return  # verdicts and overlaps need the run's own tempering trace
    kernel = mcmc.sampler
    if not isinstance(kernel, ParallelTempering) or "tempering" not in extra:
        return
    single = len(kernel.sites) == 1
    summary_group, coords = {}, {}
    for name, model in kernel.sites.items():
        prefix = "" if single else f"{name}_"
        summary = kernel.tempering_summary(mcmc, name)
        for stage in ("health_warmup", "health"):
            idata.sample_stats.attrs[f"{prefix}tempering_{stage}"] = "\n".join(
                f"chain {c}: {h}" for c, h in enumerate(summary[stage])
            )
            idata.sample_stats.attrs[f"{prefix}tempering_{stage}_status"] = ", ".join(
                h.status for h in summary[stage]
            )
        if kernel.num_copies != 2:
            continue
        trace = extra["tempering"][name]
        counts = np.asarray(summary["num_replicas"])
        slots = np.arange(np.asarray(trace.betas).shape[-1])
        active = slots[None, None, :] < counts[:, None, None]
        overlap = np.where(active, np.asarray(trace.overlap, np.float64), np.nan)
        link = np.where(active, np.asarray(trace.link_overlap, np.float64), np.nan)
        dims = ("chain", "draw", f"{prefix}temperature")
        idata.sample_stats[f"{prefix}overlap"] = (dims, overlap)
        idata.sample_stats[f"{prefix}link_overlap"] = (dims, link)
        values = np.linspace(-1.0, 1.0, model.num_sites + 1)
        index = np.rint((overlap + 1.0) / 2.0 * model.num_sites)
        counts_q = np.stack([(index == k).sum(axis=1) for k in range(values.size)], axis=-1)
        distribution = counts_q / np.maximum(counts_q.sum(axis=-1, keepdims=True), 1)
        distribution = np.where(active[:, 0, :, None], distribution, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN beyond the active slots
            binder = binder_ratio(overlap, axis=1)
            mean_link = np.nanmean(link, axis=1)
        pair = ("chain", f"{prefix}temperature")
        summary_group[f"{prefix}beta"] = (pair, np.asarray(summary["betas"]))
        summary_group[f"{prefix}binder_ratio"] = (pair, binder)
        summary_group[f"{prefix}mean_link_overlap"] = (pair, mean_link)
        summary_group[f"{prefix}overlap_distribution"] = ((*pair, f"{prefix}q"), distribution)
        coords[f"{prefix}q"] = values
    if summary_group:
        dataset = xr.Dataset(summary_group, coords={"chain": idata.sample_stats.chain, **coords})
        idata.add_groups({TEMPERING_GROUP: dataset})


def _without_unused_coords(dataset: Any) -> Any:
    """``dataset`` without the coordinates of dimensions no variable uses any more (those of
    the configurations moved out)."""
    used = {dim for variable in dataset.data_vars.values() for dim in variable.dims}
    unused = [name for name, coord in dataset.coords.items() if not set(coord.dims) <= used]
    return dataset.drop_vars(unused)


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


def _warn_if_frozen(site: str, draws: np.ndarray) -> None:
    """Warn when a chain's configuration ``draws [chain, draw, ...]`` never changes."""
    if draws.ndim < 2 or draws.shape[1] < 2:
        return
    frozen = [c for c, chain in enumerate(draws) if not np.any(chain[1:] != chain[:1])]
    if frozen:
        warnings.warn(
            f"the configuration of site {site!r} never changes in chain(s) {frozen}: the chain "
            "is frozen (ArviZ then reports an ESS equal to the number of draws, and NaN or "
            "infinite R-hat for its constant observables); lower beta or use a cluster or "
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
