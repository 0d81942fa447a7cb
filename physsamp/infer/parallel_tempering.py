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
from physsamp.models.pairwise import PairwiseModel

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
    ``swap_acceptance [R-1]``: acceptance probability of each neighbouring pair (averaged
    over the two copies when there are two). ``num_active``: the slots in use (an automatic
    ladder pads the others, which repeat the target beta). With two copies (the first copy's
    index process and energies are recorded), ``overlap [R]`` and ``link_overlap [R]``: per
    slot, the overlap :math:`q = \\frac1N \\sum_i x_i y_i` and the link overlap
    :math:`q_l = \\frac1{N_b} \\sum_{(ij)} x_i x_j y_i y_j` of the two replicas at that
    temperature (empty with one copy).
    """

    betas: Float[Array, " replicas"]
    slot_of_replica: Int[Array, " replicas"]
    energy: Float[Array, " replicas"]
    log_weight: Float[Array, " pairs"]
    swap_acceptance: Float[Array, " pairs"]
    num_active: Int[Array, ""]
    overlap: Float[Array, " replicas"]
    link_overlap: Float[Array, " replicas"]


class TemperingSummary(dict):
    """The ladder diagnostics of :meth:`ParallelTempering.tempering_summary`: a dict of
    per-chain arrays that prints as one line of averages over the chains, then the health
    verdict of each chain after warm-up and after sampling."""

    def __str__(self) -> str:
        betas = np.asarray(self["betas"])
        acceptance = np.asarray(self["swap_acceptance"])
        counts = np.asarray(self["num_replicas"])
        replicas = f"{counts.min()}" if counts.min() == counts.max() else \
            f"{counts.min()}-{counts.max()}"  # fmt: skip
        line = (
            f"{replicas} replicas from beta {np.nanmin(betas[:, 0]):.4g} to "
            f"{np.nanmax(betas):.4g}, {betas.shape[0]} chains: swap acceptance "
            f"{np.nanmean(acceptance):.2f} (lowest pair "
            f"{np.nanmean(acceptance[:, np.isfinite(acceptance).any(axis=0)], axis=0).min():.2f}), "
            f"barrier {np.mean(self['global_barrier']):.3g} (suggests "
            f"{self['suggested_num_replicas']} replicas), {int(np.sum(self['round_trips']))} "
            f"round trips ({np.mean(self['round_trip_rate']):.3g} per step; "
            f"{np.mean(self['predicted_round_trip_rate']):.3g} with ideal local moves)"
        )
        verdicts = [
            f"chain {chain}: after {health}"
            for stage in ("health_warmup", "health")
            for chain, health in enumerate(self[stage])
        ]
        return "\n".join([line, *verdicts])


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
    length so that every pair has the same rejection rate (a monotone cubic interpolation of the
    cumulative barrier, inverted); the rounds fill the first three quarters of the warm-up, the
    rest lets the chains settle on the final ladder. With ``betas="auto"`` each round also
    resizes the ladder to about :math:`2\Lambda + 1` replicas (Syed et al. 2022), within
    ``max_replicas`` slots: the slots beyond the ladder are padded and masked, so resizing
    changes no shape and compiles nothing; their replicas are still moved, so a step costs as
    much as ``max_replicas`` replicas (lower it to the size the verdict reports to save time).
    Every chain tunes its own ladder. Statistics (round trips, barrier) restart when sampling
    begins; :meth:`tempering_summary` gives a health verdict per chain after warm-up and after
    sampling (:func:`~physsamp.kernels.parallel_tempering.ladder_health`: has the barrier
    settled, is the ladder long enough, do round trips happen at the rate the swap rates
    predict or do the local moves hold them back), which :func:`physsamp.to_inference_data`
    also stores in the ``sample_stats`` attributes ``tempering_health`` and
    ``tempering_health_warmup``.

    **Spin glasses.** ``num_copies=2`` runs two independent copies of the ladder (two replicas
    per temperature) and records, per draw and temperature, their overlap :math:`q` and link
    overlap :math:`q_l`; :func:`physsamp.to_inference_data` puts them in ``sample_stats``
    (``overlap``, ``link_overlap``, NaN beyond the ladder) and their distributions, means and
    Binder ratios per temperature in a ``tempering`` group. ``houdayer=True`` (implies two
    copies) adds a Houdayer cluster move between the copies at every temperature after the local
    moves (Houdayer, Eur. Phys. J. B 22, 479 (2001); :mod:`physsamp.kernels.houdayer`), which
    speeds up 2D Edwards–Anderson glasses; the sample is always the first copy's target replica.

    Args:
        model: a NumPyro model with one or more physsamp sites.
        betas: the ladder: an int (that many replicas, equally spaced from ``beta_min`` to the
            site's beta), ``None`` (8 replicas), an ascending array ending at the site's beta,
            or ``"auto"`` (sized and spaced during warm-up).
        kernel: the inner kernel, a physsamp NumPyro kernel class (:class:`BlockGibbs`,
            ``SwendsenWang``) or instance; only its pure step is used.
        kernel_kwargs: keyword arguments for the inner kernel class (e.g. ``num_sweeps``).
        swap: "deo" (non-reversible, default) or "seo" (reversible).
        adapt: tune the ladder during warm-up.
        beta_min: the reference inverse temperature of generated ladders.
        max_replicas: with ``betas="auto"``, the slots the ladder may use (default
            :func:`~physsamp.kernels.parallel_tempering.default_capacity`).
        num_copies: 1, or 2 for two replicas per temperature and their overlaps (default 2
            with Houdayer moves, else 1).
        houdayer: Houdayer cluster moves between the two copies (±1-spin pairwise models).

    Per draw, ``sample_stats`` (through :func:`physsamp.to_inference_data`) gets
    ``swap_acceptance_k`` for each pair ``k`` (between slots k and k+1, slot 0 the
    reference; NaN for pairs beyond an automatic ladder), ``mean_swap_acceptance``,
    ``round_trips`` and ``tempered_restarts`` (cumulative since sampling began, summed over
    copies), ``global_barrier`` (running estimate of Lambda from the sampling draws),
    ``num_replicas``, ``target_replica``, ``mean_cluster_size`` (Houdayer moves) and the inner
    kernel's per-step numbers at the target (``target_flip_fraction`` for block Gibbs);
    site-prefixed when the model has several sites. :meth:`log_partition` gives log Z by
    stepping stones, :meth:`tempering_summary` the ladder diagnostics and verdicts,
    :mod:`physsamp.plots_tempering` the plots.

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
        max_replicas: int | None = None,
        num_copies: int | None = None,
        houdayer: bool = False,
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
        if isinstance(betas, str):
            if betas != "auto":
                raise ValueError(f"betas must be an int, a ladder or 'auto', got {betas!r}")
        elif isinstance(betas, int | np.integer) and betas < 2:
            raise ValueError(f"parallel tempering needs at least 2 replicas, got betas={betas}")
        elif betas is not None and not isinstance(betas, int | np.integer):
            pt.check_ladder(betas)
        if max_replicas is not None:
            if betas != "auto":
                raise ValueError("max_replicas sizes an automatic ladder: pass betas='auto'")
            if int(max_replicas) < 2:
                raise ValueError(f"max_replicas must be >= 2, got {max_replicas}")
        num_copies = (2 if houdayer else 1) if num_copies is None else int(num_copies)
        if num_copies not in (1, 2):
            raise ValueError(f"num_copies must be 1 or 2, got {num_copies}")
        if houdayer and num_copies != 2:
            raise ValueError("Houdayer moves exchange clusters between two copies: num_copies=2")
        self.inner = inner
        self.betas = betas
        self.swap = swap
        self.adapt = adapt
        self.beta_min = float(beta_min)
        self.max_replicas = None if max_replicas is None else int(max_replicas)
        self.num_copies = num_copies
        self.houdayer = bool(houdayer)
        self._step = pt.build_kernel(inner.kernel_step, swap=swap, houdayer=self.houdayer)
        self._num_warmup = 0
        self._round_ends = np.zeros(0, np.int32)

    @property
    def automatic(self) -> bool:
        """Whether the ladder's size is chosen during warm-up (``betas="auto"``)."""
        return isinstance(self.betas, str)

    # -- the pure kernel -----------------------------------------------------------------------
    def capacity_for(self, model: EnergyModel) -> int:
        """The number of slots of a site's ladder: its size, or for ``betas="auto"`` the room
        it may grow into, ``max_replicas`` or by default
        :func:`~physsamp.kernels.parallel_tempering.default_capacity` (the health verdict
        says when the ladder wanted more)."""
        if not self.automatic:
            return len(self.ladder_for(model))
        if self.max_replicas is not None:
            return self.max_replicas
        return pt.default_capacity(model.num_sites)

    def ladder_for(self, model: EnergyModel) -> np.ndarray:
        """The initial ladder of a site's model (validated against its beta); for
        ``betas="auto"`` half the capacity, equally spaced, which warm-up then resizes."""
        beta = float(model.beta)
        if self.betas is None or isinstance(self.betas, int | np.integer) or self.automatic:
            if self.automatic:
                capacity = self.capacity_for(model)
                count = min(capacity, max(3, capacity // 2 + 1))
            else:
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
        if self.num_copies == 2 and not isinstance(model, PairwiseModel):
            raise ValueError(
                f"two copies (overlaps, Houdayer moves) need a pairwise model (Ising, "
                f"BoltzmannMachine, Hopfield), not {type(model).__name__}"
            )
        return pt.init(position, model, self.ladder_for(model), self.inner.kernel_init,
                       capacity=self.capacity_for(model), num_copies=self.num_copies)  # fmt: skip

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
        shape = (self.capacity_for(model),)
        return model.uniform_configuration(rng_key, (2, *shape) if self.num_copies == 2 else shape)

    def after_step(self, name, kernel_state, step_number):
        return pt.apply_schedule(kernel_state, step_number, self._round_ends, self._num_warmup,
                                 resize=self.automatic and self.adapt)  # fmt: skip

    def _assemble(self, i, z, kernel_state, infos, rng_key, model_args, model_kwargs,
                  zeros=False) -> ParallelTemperingMCMCState:  # fmt: skip
        base = super()._assemble(i, z, kernel_state, infos, rng_key, model_args, model_kwargs)
        tempering = {}
        for name, s in kernel_state.items():
            info = infos[name]
            copies = self.num_copies == 2
            if copies:
                overlap, link = pt.replica_overlaps(s, self.plans[name].model)
            else:
                overlap = link = jnp.zeros(0, jnp.float32)
            tempering[name] = TemperingTrace(
                betas=s.betas,
                slot_of_replica=s.slot_of_replica[0] if copies else s.slot_of_replica,
                energy=info.energy[0] if copies else info.energy,
                log_weight=info.log_weight[0] if copies else info.log_weight,
                swap_acceptance=info.swap_acceptance.mean(0) if copies else info.swap_acceptance,
                num_active=s.num_active,
                overlap=overlap,
                link_overlap=link,
            )
        replicas = {name: s.positions_by_slot for name, s in kernel_state.items()}
        stats = self._tempering_stats(kernel_state, infos)
        return ParallelTemperingMCMCState(
            i, z, base.potential_energy, stats, kernel_state, rng_key, tempering, replicas
        )

    def _tempering_stats(self, kernel_state: dict, infos: dict) -> dict[str, jax.Array]:
        """Scalars only: :func:`physsamp.to_inference_data` stores each as (chain, draw)."""
        single = len(kernel_state) == 1
        copies = self.num_copies == 2
        stats = {}
        for name, state in kernel_state.items():
            info = infos[name]
            prefix = "" if single else f"{name}."
            acceptance = info.swap_acceptance.mean(0) if copies else info.swap_acceptance
            active = state.active_pairs
            for k in range(acceptance.shape[-1]):
                stats[f"{prefix}swap_acceptance_{k}"] = jnp.where(active[k], acceptance[k], jnp.nan)
            stats[f"{prefix}mean_swap_acceptance"] = jnp.sum(
                jnp.where(active, acceptance, 0.0)
            ) / jnp.maximum(active.sum(), 1)
            stats[f"{prefix}round_trips"] = state.round_trips
            stats[f"{prefix}tempered_restarts"] = state.restarts
            rejection = jnp.where(active, state.rejection_rates, 0.0)
            stats[f"{prefix}global_barrier"] = jnp.sum(rejection)
            stats[f"{prefix}num_replicas"] = state.num_active
            top = state.num_active - 1
            at_slot = state.replica_at_slot[0] if copies else state.replica_at_slot
            stats[f"{prefix}target_replica"] = at_slot[top]
            if self.houdayer:
                stats[f"{prefix}mean_cluster_size"] = jnp.mean(info.cluster_size)
            for field, value in _fields(info.inner).items():
                if copies:
                    value = value[0]
                if value.ndim == 1:  # one number per slot: report the target's
                    stats[f"{prefix}target_{field}"] = value[top]
        return stats

    def get_diagnostics_str(self, state) -> str:
        acceptance = [
            float(jnp.mean(value))
            for key, value in state.stats.items()
            if key.endswith("mean_swap_acceptance")
        ]
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
        :math:`2\\Lambda + 1`, from the chains' mean barrier), ``round_trips [chains]``,
        ``round_trip_rate [chains]`` (round trips per step and copy),
        ``predicted_round_trip_rate [chains]`` (what non-reversible PT would reach with ideal
        local exploration, :func:`~physsamp.kernels.parallel_tempering.round_trip_rate`),
        ``round_trip_rate_limit [chains]`` (:math:`1/(2 + 2\\Lambda)`, its value for a
        fine ladder; Syed et al. 2022), ``num_replicas [chains]`` (the slots in use; with an
        automatic ladder the arrays are padded with NaN beyond them), and the health verdicts
        ``health_warmup`` and ``health`` (one
        :class:`~physsamp.kernels.parallel_tempering.LadderHealth` per chain: after warm-up,
        from its last stretch on the final ladder; after sampling, from the draws).
        Printed, a :class:`TemperingSummary` is a line of averages over the chains and the
        verdicts."""
        name, trace = self._trace(mcmc, site)
        prefix = "" if len(self.sites) == 1 else f"{name}."
        stats = mcmc.get_extra_fields(group_by_chain=True)["stats"]
        trips = np.asarray(stats[f"{prefix}round_trips"])[:, -1]
        counts = np.asarray(trace.num_active)[:, -1]
        pairs = np.arange(trace.swap_acceptance.shape[-1])
        active = pairs[None, :] < counts[:, None] - 1
        acceptance = np.where(active, trace.swap_acceptance.mean(axis=1), np.nan)
        betas = np.where(np.arange(trace.betas.shape[-1])[None] < counts[:, None],
                         trace.betas[:, -1], np.nan)  # fmt: skip
        barrier = np.nansum(1.0 - acceptance, axis=-1)
        num_steps = trace.betas.shape[1] * int(getattr(mcmc, "thinning", 1))
        copies = self.num_copies
        warmup, sampling = [], []
        states = jax.tree.map(np.asarray, mcmc.last_state.kernel_state[name])
        capacity = trace.betas.shape[-1] if self.automatic else None
        for chain in range(acceptance.shape[0]):
            state = jax.tree.map(lambda leaf, c=chain: leaf[c], states) if mcmc.num_chains > 1 \
                else states  # fmt: skip
            n = int(counts[chain])
            period = state.last_period
            warm_rates = np.asarray(period.rejection_rates)[: n - 1]
            warmup.append(pt.ladder_health(
                warm_rates, int(period.round_trips), int(period.num_steps),
                previous_barrier=float(state.global_barrier), capacity=capacity,
                num_copies=copies, stage="warm-up"))  # fmt: skip
            sampling.append(pt.ladder_health(
                1.0 - acceptance[chain, : n - 1], int(trips[chain]), num_steps,
                previous_barrier=float(np.sum(warm_rates)) if period.num_steps > 0 else np.nan,
                capacity=capacity, num_copies=copies))  # fmt: skip
        return TemperingSummary(
            {
                "betas": betas,
                "swap_acceptance": acceptance,
                "global_barrier": barrier,
                "suggested_num_replicas": suggested_num_replicas(float(barrier.mean())),
                "round_trips": trips,
                "round_trip_rate": trips / copies / num_steps,
                "predicted_round_trip_rate": np.array(
                    [pt.round_trip_rate(1.0 - chain[np.isfinite(chain)]) for chain in acceptance]
                ),
                "round_trip_rate_limit": 1.0 / (2.0 + 2.0 * barrier),
                "num_replicas": counts,
                "health_warmup": warmup,
                "health": sampling,
            }
        )
