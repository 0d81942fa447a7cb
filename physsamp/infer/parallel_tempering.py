r"""Parallel tempering as a NumPyro kernel, with the ladder tuned during warm-up.

The pure algorithm lives in :mod:`physsamp.kernels.parallel_tempering`; this module adapts it
to :class:`numpyro.infer.MCMC`: every physsamp site gets its own ladder of replicas (sites are
independent distributions, so tempering them separately is exact), the sample is the replica
at the target temperature (the site's own beta), and warm-up re-spaces the ladder in rounds of
doubling length (Syed, Bouchard-Côté, Deligiannidis & Doucet, JRSS-B 84, 321 (2022)).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from physsamp.infer._adapter import PhysicsKernel
from physsamp.infer.block_gibbs import BlockGibbs
from physsamp.kernels import parallel_tempering as pt
from physsamp.kernels.parallel_tempering import (
    SteppingStoneEstimate,
    adapt_ladder,
    stepping_stone_log_partition,
    suggested_num_replicas,
)
from physsamp.models.base import EnergyModel

__all__ = [
    "ParallelTempering",
    "ParallelTemperingMCMCState",
    "TemperingSummary",
    "TemperingTrace",
    "adapt_ladder",
    "stepping_stone_log_partition",
    "suggested_num_replicas",
]


class TemperingTrace(NamedTuple):
    """Per-draw record of one site's ladder (collected by default; ``[chains, draws, ...]`` from
    ``mcmc.get_extra_fields(group_by_chain=True)["tempering"][site]``).

    ``betas [R]``: the ladder; ``slot_of_replica [R]``: the replica index process;
    ``energy [R]`` and ``log_weight [R-1]``: by slot, as in
    :class:`~physsamp.kernels.parallel_tempering.ParallelTemperingInfo`;
    ``swap_acceptance [R-1]``: acceptance probability of each neighbouring pair.
    """

    betas: Float[Array, " replicas"]
    slot_of_replica: Int[Array, " replicas"]
    energy: Float[Array, " replicas"]
    log_weight: Float[Array, " pairs"]
    swap_acceptance: Float[Array, " pairs"]


class TemperingSummary(dict):
    """The ladder diagnostics of :meth:`ParallelTempering.tempering_summary`: a dict of
    per-chain arrays that prints as one line of averages over the chains."""

    def __str__(self) -> str:
        betas = np.asarray(self["betas"])
        acceptance = np.asarray(self["swap_acceptance"])
        return (
            f"{betas.shape[-1]} replicas from beta {betas[:, 0].min():.4g} to "
            f"{betas[:, -1].max():.4g}, {betas.shape[0]} chains: swap acceptance "
            f"{acceptance.mean():.2f} (lowest pair {acceptance.mean(axis=0).min():.2f}), "
            f"barrier {np.mean(self['global_barrier']):.3g} (suggests "
            f"{self['suggested_num_replicas']} replicas), {int(np.sum(self['round_trips']))} "
            f"round trips ({np.mean(self['round_trip_rate']):.3g} per step; "
            f"{np.mean(self['predicted_round_trip_rate']):.3g} with ideal local moves)"
        )


class ParallelTemperingMCMCState(NamedTuple):
    """The :class:`~physsamp.infer.PhysicsState` fields plus, per site, ``tempering`` (a
    :class:`TemperingTrace`, collected by default) and ``replicas`` (every replica's
    configuration in slot order ``[R, num_sites]``; ask for it with
    ``mcmc.run(..., extra_fields=("replicas",))``)."""

    i: jax.Array
    z: dict[str, jax.Array]
    potential_energy: jax.Array
    stats: dict[str, jax.Array]
    kernel_state: dict[str, pt.ParallelTemperingState]
    rng_key: jax.Array
    tempering: dict[str, TemperingTrace]
    replicas: dict[str, jax.Array]


def _fields(info: Any) -> dict[str, jax.Array]:
    if hasattr(info, "_asdict"):
        return info._asdict()
    return {}


class ParallelTempering(PhysicsKernel):
    r"""Parallel tempering of every physsamp site of a NumPyro model, around block Gibbs or
    Swendsen-Wang, with non-reversible swaps and a ladder tuned during warm-up.

    Each site's replicas sample :math:`e^{-\beta_k E}` on a ladder from ``beta_min`` (the
    reference; 0 by default, independent uniform units) to the site's own beta (the target);
    the MCMC sample of the site is the replica at the target. A step is one inner-kernel step
    of every replica, then swaps between neighbouring temperatures accepted with probability
    :math:`\min(1, e^{(\beta_{k+1} - \beta_k)(E_{k+1} - E_k)})`, the even pairs on even steps
    and the odd pairs on odd steps (``swap="deo"``; ``"seo"`` flips a coin instead and is
    reversible). See :mod:`physsamp.kernels.parallel_tempering`. When other sites depend on
    a site (data), the ladder tempers the site's conditional, likelihood included, from
    uniform units at beta = 0 to the conditional at the site's beta; the site's parameters
    must be fixed.

    During warm-up (``adapt=True``) the ladder is re-spaced at the end of rounds of doubling
    length so that every pair has the same rejection rate; the rounds fill the first three
    quarters of the warm-up, the rest lets the chains settle on the final ladder. Every chain
    tunes its own ladder. Statistics (round trips, barrier) restart when sampling begins.

    Args:
        model: a NumPyro model with one or more physsamp sites.
        betas: the ladder: an int (that many replicas, equally spaced from ``beta_min`` to the
            site's beta), ``None`` (8 replicas), or an ascending array ending at the site's beta.
        kernel: the inner kernel, a physsamp NumPyro kernel class (:class:`BlockGibbs`,
            ``SwendsenWang``) or instance; only its pure step is used.
        kernel_kwargs: keyword arguments for the inner kernel class (e.g. ``num_sweeps``).
        swap: "deo" (non-reversible, default) or "seo" (reversible).
        adapt: tune the ladder during warm-up.
        beta_min: the reference inverse temperature of generated ladders.

    Per draw, ``sample_stats`` (through :func:`physsamp.to_inference_data`) gets
    ``swap_acceptance_k`` for each pair ``k`` (between slots k and k+1, slot 0 the
    reference), ``mean_swap_acceptance``, ``round_trips`` and ``tempered_restarts``
    (cumulative since sampling began), ``global_barrier`` (running estimate of Lambda from the
    sampling draws), ``target_replica`` and the inner kernel's per-step numbers at the target
    (``target_flip_fraction`` for block Gibbs); site-prefixed when the model has several sites.
    :meth:`log_partition` gives log Z by stepping stones, :meth:`tempering_summary` the ladder
    diagnostics, :mod:`physsamp.plots_tempering` the plots.

    Example:
        >>> import jax, numpyro, physsamp as ps
        >>> from numpyro.infer import MCMC
        >>> from physsamp.infer.parallel_tempering import ParallelTempering
        >>> def model():
        ...     numpyro.sample("spins", ps.Ising.lattice((4, 4), beta=0.6))
        >>> kernel = ParallelTempering(model, betas=6)
        >>> mcmc = MCMC(kernel, num_warmup=200, num_samples=1000, progress_bar=False)
        >>> mcmc.run(jax.random.key(0))
        >>> mcmc.get_samples()["spins"].shape
        (1000, 16)
        >>> estimate = kernel.log_partition(mcmc)  # log Z by stepping stones, with its error
        >>> exact = ps.exact.log_partition(ps.Ising.lattice((4, 4), beta=0.6))
        >>> bool(abs(estimate.log_z - exact) < 4 * estimate.stderr)
        True
    """

    def __init__(
        self,
        model: Callable,
        betas: Any = None,
        kernel: Any = BlockGibbs,
        kernel_kwargs: dict | None = None,
        swap: str = "deo",
        adapt: bool = True,
        beta_min: float = 0.0,
    ):
        super().__init__(model)
        if inspect.isclass(kernel) and issubclass(kernel, PhysicsKernel):
            inner = kernel(model, **(kernel_kwargs or {}))
        elif isinstance(kernel, PhysicsKernel):
            if kernel_kwargs:
                raise ValueError("kernel_kwargs apply to a kernel class, not to an instance")
            inner = kernel
        else:
            raise TypeError(
                f"kernel must be a physsamp NumPyro kernel class or instance (BlockGibbs, "
                f"SwendsenWang), got {kernel!r}"
            )
        if isinstance(inner, ParallelTempering):
            raise TypeError("parallel tempering cannot wrap parallel tempering")
        if isinstance(betas, int | np.integer) and betas < 2:
            raise ValueError(f"parallel tempering needs at least 2 replicas, got betas={betas}")
        if betas is not None and not isinstance(betas, int | np.integer):
            pt.check_ladder(betas)
        self.inner = inner
        self.betas = betas
        self.swap = swap
        self.adapt = adapt
        self.beta_min = float(beta_min)
        self._step = pt.build_kernel(inner.kernel_step, swap=swap)
        self._num_warmup = 0
        self._round_ends = np.zeros(0, np.int32)

    # -- the pure kernel -----------------------------------------------------------------------
    def ladder_for(self, model: EnergyModel) -> np.ndarray:
        """The initial ladder of a site's model (validated against its beta)."""
        beta = float(model.beta)
        if self.betas is None or isinstance(self.betas, int | np.integer):
            count = 8 if self.betas is None else int(self.betas)
            if beta <= self.beta_min:
                raise ValueError(
                    f"the site's beta {beta} must exceed beta_min {self.beta_min} for tempering"
                )
            return pt.default_ladder(beta, count, self.beta_min)
        ladder = np.asarray(pt.check_ladder(self.betas), dtype=np.float64)
        if not np.isclose(ladder[-1], beta, rtol=1e-6, atol=1e-7):
            raise ValueError(
                f"the ladder must end at the site's beta {beta} (the target), but "
                f"betas[-1] = {ladder[-1]}; pass an int to build a ladder for each site"
            )
        ladder[-1] = beta
        return ladder

    fixed_parameters = True

    def kernel_init(self, position, model):
        """Every replica starts from ``position`` (the NumPyro kernel instead starts each
        replica from its own uniform draw unless ``init_params`` is given)."""
        return pt.init(position, model, self.ladder_for(model), self.inner.kernel_init)

    def kernel_step(self, rng_key, state, model):
        return self._step(rng_key, state, model)

    def kernel_position(self, state):
        return state.position

    # -- MCMCKernel ----------------------------------------------------------------------------
    @property
    def default_fields(self) -> tuple[str, ...]:
        return ("z", "potential_energy", "stats", "tempering")

    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        self._num_warmup = int(num_warmup)
        self._round_ends = (
            pt.adaptation_schedule(num_warmup) if self.adapt else np.zeros(0, np.int32)
        )
        return super().init(rng_key, num_warmup, init_params, model_args, model_kwargs)

    def initial_position(self, rng_key, name, init_params):
        """One uniform draw per replica, unless ``init_params`` gives the site's start."""
        if init_params is not None and name in init_params:
            return super().initial_position(rng_key, name, init_params)
        model = self.plans[name].model
        return model.uniform_configuration(rng_key, (len(self.ladder_for(model)),))

    def after_step(self, name, kernel_state, step_number):
        return pt.apply_schedule(kernel_state, step_number, self._round_ends, self._num_warmup)

    def _assemble(self, i, z, kernel_state, infos, rng_key, model_args, model_kwargs,
                  zeros=False) -> ParallelTemperingMCMCState:  # fmt: skip
        base = super()._assemble(i, z, kernel_state, infos, rng_key, model_args, model_kwargs)
        tempering = {
            name: TemperingTrace(
                betas=s.betas,
                slot_of_replica=s.slot_of_replica,
                energy=infos[name].energy,
                log_weight=infos[name].log_weight,
                swap_acceptance=infos[name].swap_acceptance,
            )
            for name, s in kernel_state.items()
        }
        replicas = {name: s.positions_by_slot for name, s in kernel_state.items()}
        stats = self._tempering_stats(kernel_state, infos)
        return ParallelTemperingMCMCState(
            i, z, base.potential_energy, stats, kernel_state, rng_key, tempering, replicas
        )

    def _tempering_stats(self, kernel_state: dict, infos: dict) -> dict[str, jax.Array]:
        """Scalars only: :func:`physsamp.to_inference_data` stores each as (chain, draw)."""
        single = len(kernel_state) == 1
        stats = {}
        for name, state in kernel_state.items():
            info = infos[name]
            prefix = "" if single else f"{name}."
            acceptance = info.swap_acceptance
            for k in range(acceptance.shape[-1]):
                stats[f"{prefix}swap_acceptance_{k}"] = acceptance[k]
            stats[f"{prefix}mean_swap_acceptance"] = acceptance.mean()
            stats[f"{prefix}round_trips"] = state.round_trips
            stats[f"{prefix}tempered_restarts"] = state.restarts
            stats[f"{prefix}global_barrier"] = state.rejection_rates.sum()
            stats[f"{prefix}target_replica"] = state.replica_at_slot[-1]
            for field, value in _fields(info.inner).items():
                if value.ndim == 1:  # one number per slot: report the target's
                    stats[f"{prefix}target_{field}"] = value[-1]
        return stats

    def get_diagnostics_str(self, state) -> str:
        acceptance = [float(jnp.mean(trace.swap_acceptance)) for trace in state.tempering.values()]
        return f"{super().get_diagnostics_str(state)}, swap acc {np.mean(acceptance):.2f}"

    # -- after a run ---------------------------------------------------------------------------
    def _trace(self, mcmc: Any, site: str | None) -> tuple[str, TemperingTrace]:
        if mcmc.sampler is not self:
            raise ValueError("this MCMC object was not run with this ParallelTempering kernel")
        name = self._site_name(site)
        traces = mcmc.get_extra_fields(group_by_chain=True)["tempering"]
        trace = jax.tree.map(np.asarray, traces[name])
        return name, trace

    def _site_name(self, site: str | None) -> str:
        if site is None:
            if len(self.sites) != 1:
                raise ValueError(f"the model has several physsamp sites {list(self.sites)}: "
                                 "name one with site=...")  # fmt: skip
            return next(iter(self.sites))
        if site not in self.sites:
            raise ValueError(f"no physsamp site {site!r}; the sites are {list(self.sites)}")
        return site

    def log_partition(self, mcmc: Any, site: str | None = None) -> SteppingStoneEstimate:
        """log Z of a site at its own beta from the sampling draws of ``mcmc``: the
        stepping-stone estimator along each chain's ladder
        (:func:`~physsamp.kernels.parallel_tempering.stepping_stone_from_log_weights`), with
        :math:`\\log Z(0) = N \\log 2` plus the constant log density at beta = 0. Needs a
        ladder starting at beta = 0."""
        name, trace = self._trace(mcmc, site)
        factors = [factor.name for factor in self.plans[name].factors]
        if factors:
            raise ValueError(
                f"the ladder of site {name!r} tempered its conditional given {factors}, not the "
                "site's own model: its stepping stones estimate neither log Z; use "
                "physsamp.infer.ais_log_partition on the site's model"
            )
        betas = trace.betas
        if np.any(betas[:, :, 0] != 0):
            raise ValueError(
                "the stepping-stone estimate needs the reference at beta = 0 (beta_min=0.0); "
                f"this ladder starts at {float(betas[0, 0, 0])}"
            )
        if np.any(betas != betas[:, :1]):
            raise ValueError("the ladder changed during sampling; collect post-warm-up draws only")
        log_z0 = pt.reference_log_partition(self.sites[name])
        return pt.stepping_stone_from_log_weights(trace.log_weight, log_z0)

    def tempering_summary(self, mcmc: Any, site: str | None = None) -> TemperingSummary:
        """Ladder diagnostics of the sampling draws, per chain: ``betas [chains, R]``,
        ``swap_acceptance [chains, R-1]`` (mean per pair), ``global_barrier [chains]``
        (:math:`\\Lambda = \\sum_k` mean rejection), ``suggested_num_replicas`` (about
        :math:`2\\Lambda`, from the chains' mean barrier), ``round_trips [chains]``,
        ``round_trip_rate [chains]`` (round trips per step, all replicas together),
        ``predicted_round_trip_rate [chains]`` (what non-reversible PT would reach with ideal
        local exploration, :func:`~physsamp.kernels.parallel_tempering.round_trip_rate`) and
        ``round_trip_rate_limit [chains]`` (:math:`1/(2 + 2\\Lambda)`, its value for a
        fine ladder; Syed et al. 2022). Printed, a :class:`TemperingSummary` is one line of
        averages over the chains."""
        name, trace = self._trace(mcmc, site)
        prefix = "" if len(self.sites) == 1 else f"{name}."
        stats = mcmc.get_extra_fields(group_by_chain=True)["stats"]
        trips = np.asarray(stats[f"{prefix}round_trips"])[:, -1]
        acceptance = trace.swap_acceptance.mean(axis=1)
        barrier = (1.0 - acceptance).sum(axis=-1)
        num_steps = trace.betas.shape[1] * int(getattr(mcmc, "thinning", 1))
        return TemperingSummary(
            {
                "betas": trace.betas[:, -1],
                "swap_acceptance": acceptance,
                "global_barrier": barrier,
                "suggested_num_replicas": suggested_num_replicas(float(barrier.mean())),
                "round_trips": trips,
                "round_trip_rate": trips / num_steps,
                "predicted_round_trip_rate": np.array(
                    [pt.round_trip_rate(1.0 - chain) for chain in acceptance]
                ),
                "round_trip_rate_limit": 1.0 / (2.0 + 2.0 * barrier),
            }
        )
