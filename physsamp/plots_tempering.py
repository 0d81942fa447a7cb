"""Plots of a parallel-tempering run: the replica index process, swap acceptance along the
ladder, and energy histograms per temperature.

The figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``, no global
state), so they work under any backend, Agg included, and in threads. Every function takes
plain arrays (or draws an ``ax`` given to it) and returns the axes or figure; save with
``figure.savefig(path)``.

Example:
    >>> import jax, numpyro, physsamp as ps
    >>> from numpyro.infer import MCMC
    >>> from physsamp.infer.parallel_tempering import ParallelTempering
    >>> from physsamp.plots_tempering import plot_tempering
    >>> def model():
    ...     numpyro.sample("spins", ps.Ising.lattice((8, 8), beta=0.6))
    >>> mcmc = MCMC(ParallelTempering(model, betas=6), num_warmup=100, num_samples=200,
    ...             progress_bar=False)
    >>> mcmc.run(jax.random.key(0))
    >>> figure = plot_tempering(mcmc)
    >>> len(figure.axes)  # three panels and the local-barrier axis
    4
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "plot_energy_histograms",
    "plot_replica_trajectories",
    "plot_swap_acceptance",
    "plot_tempering",
]


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 4.0)):
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def plot_replica_trajectories(
    slot_of_replica: Any, replicas: Any = None, ax: Any = None, max_replicas: int = 4
):
    """The replica index process: the slot (temperature) of some replicas over the draws.

    Args:
        slot_of_replica: ``[draws, R]`` slots of every replica (one chain).
        replicas: which replicas to draw (default: the first ``max_replicas``).

    Under non-reversible swaps the paths sweep the ladder end to end; under reversible ones
    they diffuse (Syed et al., JRSS-B 2022, Figure 1).
    """
    slots = np.asarray(slot_of_replica)
    if slots.ndim != 2:
        raise ValueError(f"slot_of_replica must be [draws, R] (one chain), got {slots.shape}")
    ax = _axes(ax, (7.0, 3.5))
    chosen = range(min(max_replicas, slots.shape[1])) if replicas is None else replicas
    for replica in chosen:
        ax.step(np.arange(slots.shape[0]), slots[:, replica], where="post", lw=1.0,
                label=f"replica {replica}")  # fmt: skip
    ax.set_xlabel("draw")
    ax.set_ylabel("slot (0 = reference, top = target)")
    ax.set_yticks(range(slots.shape[1]))
    ax.set_title("replica index process")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_swap_acceptance(betas: Any, swap_acceptance: Any, ax: Any = None):
    """Mean swap acceptance of each neighbouring pair, placed at the pair's middle beta, and
    the implied local barrier: rejection per unit beta.

    Args:
        betas: the ladder ``[R]``.
        swap_acceptance: ``[R-1]`` means, or ``[..., R-1]`` per-draw values (averaged).
    """
    ladder = np.asarray(betas, dtype=np.float64)
    acceptance = np.asarray(swap_acceptance, dtype=np.float64)
    acceptance = acceptance.reshape(-1, acceptance.shape[-1]).mean(axis=0)
    if ladder.shape != (acceptance.size + 1,):
        raise ValueError(f"{ladder.size} betas need {ladder.size - 1} pairs, got {acceptance.size}")
    middle = (ladder[1:] + ladder[:-1]) / 2
    ax = _axes(ax)
    ax.plot(middle, acceptance, "o-", label="swap acceptance")
    for beta in ladder:
        ax.axvline(beta, color="0.85", lw=0.8, zorder=0)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel("acceptance")
    barrier = (1.0 - acceptance).sum()
    ax.set_title(rf"swap acceptance ($\Lambda \approx$ {barrier:.2f})")
    local = ax.twinx()
    local.plot(middle, (1.0 - acceptance) / np.diff(ladder), "s--", color="C1", ms=3,
               label=r"local barrier $\lambda(\beta)$")  # fmt: skip
    local.set_ylabel(r"rejection per unit $\beta$", color="C1")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def plot_energy_histograms(energies: Any, betas: Any, ax: Any = None, bins: int = 40):
    """Histograms of the energy at each slot: neighbours must overlap for swaps to succeed.

    Args:
        energies: ``[draws, R]`` (or ``[chains, draws, R]``, pooled), in slot order.
        betas: the ladder ``[R]`` (labels).
    """
    values = np.asarray(energies, dtype=np.float64)
    values = values.reshape(-1, values.shape[-1])
    ladder = np.asarray(betas, dtype=np.float64)
    finite = values[np.isfinite(values)]
    edges = np.histogram_bin_edges(finite, bins=bins) if finite.size else bins
    ax = _axes(ax)
    colours = _colours(ladder.size)
    for slot in range(values.shape[1]):
        column = values[:, slot]
        column = column[np.isfinite(column)]
        if column.size:
            ax.hist(column, bins=edges, histtype="stepfilled", alpha=0.35, color=colours[slot],
                    label=rf"$\beta$ = {ladder[slot]:.3g}")  # fmt: skip
    ax.set_xlabel("energy")
    ax.set_ylabel("draws")
    ax.set_title("energy per temperature")
    if ladder.size <= 12:
        ax.legend(fontsize="x-small", ncol=2)
    return ax


def _colours(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, count)]


def plot_tempering(mcmc: Any, site: str | None = None, chain: int = 0) -> Figure:
    """The three panels for one chain of an MCMC run with
    :class:`~physsamp.infer.parallel_tempering.ParallelTempering`: index process, swap
    acceptance against beta, energy histograms. Returns the figure."""
    from physsamp.infer.parallel_tempering import ParallelTempering

    kernel = mcmc.sampler
    if not isinstance(kernel, ParallelTempering):
        raise TypeError("plot_tempering needs an MCMC run with ParallelTempering")
    name, trace = kernel._trace(mcmc, site)
    figure = Figure(figsize=(15.0, 4.0), layout="constrained")
    left, middle, right = figure.subplots(1, 3)
    count = int(trace.num_active[chain, -1])  # an automatic ladder pads the slots beyond
    plot_replica_trajectories(trace.slot_of_replica[chain][:, :count], ax=left)
    betas = trace.betas[chain, -1][:count]
    plot_swap_acceptance(betas, trace.swap_acceptance[chain][:, : count - 1], ax=middle)
    plot_energy_histograms(trace.energy[chain][:, :count], betas, ax=right)
    figure.suptitle(f"parallel tempering of site {name!r}, chain {chain}")
    return figure
