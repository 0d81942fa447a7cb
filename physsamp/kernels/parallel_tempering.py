r"""Parallel tempering (replica exchange) around any physsamp kernel, with non-reversible swaps,
an adaptive ladder and round-trip bookkeeping.

:math:`R` replicas sample :math:`p_k(x) \propto e^{-\beta_k E(x)}` on a ladder
:math:`\beta_0 < \beta_1 < \dots < \beta_{R-1}` (slot 0, the *reference*, is usually
:math:`\beta_0 = 0`, where units are independent and uniform; slot :math:`R-1` is the *target*).
A step is one local exploration of every replica with the inner kernel at its own
temperature, then one communication phase: neighbouring slots :math:`(k, k+1)` exchange
replicas with probability

.. math:: \alpha_k = \min\Bigl(1, \frac{p_k(x_{k+1})\, p_{k+1}(x_k)}{p_k(x_k)\, p_{k+1}(x_{k+1})}
   \Bigr) = \min\bigl(1, e^{(\beta_{k+1} - \beta_k)(E(x_{k+1}) - E(x_k))}\bigr),

the second form for models whose log density is linear in beta (every pairwise model); an
RBM's marginal :math:`-\beta F_\beta(v)` is not, and uses the first form through ``log_prob``.

**Swap schemes** (Syed, Bouchard-Côté, Deligiannidis & Doucet, *Non-reversible parallel
tempering: a scalable highly parallel MCMC scheme*, JRSS-B 84, 321 (2022)):

* ``"deo"`` (deterministic even/odd, non-reversible, the default): even steps propose every
  pair with even ``k``, odd steps every pair with odd ``k``. A replica keeps moving in one
  direction until a swap is rejected, so it crosses the ladder in :math:`O(R)` steps instead of
  the diffusive :math:`O(R^2)`; as :math:`R \to \infty` the round-trip rate tends to
  :math:`1 / (2 + 2\Lambda)`.
* ``"seo"`` (stochastic even-or-odd, reversible): the parity is a fair coin at each step;
  round-trip rates decay like :math:`1/R`.

**What is swapped.** Replicas never move in memory: a swap exchanges the *temperatures* of two
replicas, that is two entries of the permutation ``replica_at_slot`` (and its inverse
``slot_of_replica``, the replica index process). Swapping states instead would copy two whole
inner states (``R x num_sites`` bytes per step, plus any inner-kernel auxiliaries such as an
RBM's hidden layer) and lose the identity of replicas, which round-trip counting needs. The
price is one gather: the target configuration is ``replicas.position[replica_at_slot[-1]]``
(:attr:`ParallelTemperingState.position`).

**Adaptive ladder** (Syed et al. 2022, Algorithm 4; as in Pigeons.jl): the
rejection rate of pair :math:`k` estimates
:math:`r_k \approx \int_{\beta_k}^{\beta_{k+1}} \lambda(\beta)\, d\beta`, the integral of the
*local communication barrier* :math:`\lambda`. The cumulative barrier
:math:`\Lambda(\beta_k) = \sum_{j<k} r_j` is interpolated monotonically and inverted to place the
new :math:`\beta_k = \Lambda^{-1}(k \Lambda / (R-1))`, which equalises the rejection rates;
:math:`\Lambda = \Lambda(\beta_{R-1})` is the *global communication barrier*, and about
:math:`2\Lambda` replicas make a good ladder. :func:`adapt_ladder` is that pure map;
:func:`adapt_round` applies it to a state; :func:`warmup` runs rounds of doubling length.

**log Z from the same run**: :func:`stepping_stone_log_partition`.

Example:
    >>> import jax, jax.numpy as jnp, physsamp as ps
    >>> from physsamp.kernels import block_gibbs, parallel_tempering as pt
    >>> model = ps.Ising.lattice((8, 8), beta=0.6)
    >>> betas = jnp.linspace(0.0, 0.6, 6)
    >>> starts = model.uniform_configuration(jax.random.key(0), (6,))
    >>> state = pt.init(starts, model, betas, block_gibbs.init)
    >>> step = jax.jit(pt.build_kernel(block_gibbs.build_kernel()))
    >>> state, info = step(jax.random.key(1), state, model)
    >>> state.position.shape, info.swap_acceptance.shape
    ((64,), (5,))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Bool, Float, Int, Int8

from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel

__all__ = [
    "ParallelTemperingInfo",
    "ParallelTemperingState",
    "SteppingStoneEstimate",
    "adapt_ladder",
    "adapt_round",
    "adaptation_schedule",
    "apply_schedule",
    "build_kernel",
    "default_ladder",
    "init",
    "reference_log_partition",
    "reset_statistics",
    "round_trip_rate",
    "stepping_stone_from_log_weights",
    "stepping_stone_log_partition",
    "suggested_num_replicas",
    "warmup",
]

SWAP_SCHEMES = ("deo", "seo")
#: floor on rejection rates in :func:`adapt_ladder`, so that the cumulative barrier is
#: strictly increasing and can be inverted
_MIN_REJECTION = 1e-6


class ParallelTemperingState(NamedTuple):
    """State of parallel tempering.

    ``replicas``: the inner kernel's states stacked on a leading replica axis (replica order;
    replicas never move). ``betas [R]``: the ladder by slot, ascending (data: a new ladder does
    not recompile). ``slot_of_replica [R]`` and ``replica_at_slot [R]``: the replica index
    process and its inverse permutation. ``step_count``: steps taken (even/odd alternation).
    ``last_end [R]``: the last end of the ladder each replica visited (0 reference, 1 target,
    -1 neither yet). ``round_trips``: reference -> target -> reference trips completed, and
    ``restarts``: reference -> target trips (tempered restarts), since the last reset.
    ``rejection_sum [R-1]`` over ``num_recorded`` steps: summed rejection probabilities of each
    neighbouring pair, the statistics of ladder adaptation. ``global_barrier``: the estimate
    of Lambda made by the last :func:`adapt_round` (NaN before any).
    """

    replicas: Any
    betas: Float[Array, " replicas"]
    slot_of_replica: Int[Array, " replicas"]
    replica_at_slot: Int[Array, " replicas"]
    step_count: Int[Array, ""]
    last_end: Int8[Array, " replicas"]
    round_trips: Int[Array, ""]
    restarts: Int[Array, ""]
    rejection_sum: Float[Array, " pairs"]
    num_recorded: Int[Array, ""]
    global_barrier: Float[Array, ""]

    @property
    def position(self) -> Array:
        """The configuration of the replica at the target (top) slot."""
        return self.positions_by_slot[..., -1, :]

    @property
    def positions_by_slot(self) -> Array:
        """Every replica's configuration, ``[R, num_sites]`` in slot (temperature) order."""
        # Works on chain-batched states too (leading axes before the replica axis).
        index = self.replica_at_slot[..., :, None]
        return jnp.take_along_axis(self.replicas.position, index, axis=-2)

    @property
    def rejection_rates(self) -> Float[Array, " pairs"]:
        """Mean rejection probability of each neighbouring pair since the last reset."""
        return self.rejection_sum / jnp.maximum(self.num_recorded, 1)[..., None]


class ParallelTemperingInfo(NamedTuple):
    """What one step did, in slot order.

    ``swap_acceptance [R-1]``: the acceptance probability :math:`\\alpha_k` of every
    neighbouring pair, computed for all pairs whether proposed or not (its mean over steps is
    the Rao-Blackwellised swap acceptance rate). ``accepted [R-1]``: the swaps made.
    ``energy [R]`` and ``log_weight [R-1]``: the energy of the configuration at each slot and
    :math:`\\log p^*_{\\beta_{k+1}}(x_k) - \\log p^*_{\\beta_k}(x_k)` (the stepping-stone
    increment), both after the local exploration and before the swaps (for an RBM ``energy``
    is the free energy at the slot's beta, undefined at beta = 0). ``round_trips``: the
    state's count after the step. ``inner``: the inner kernel's info, by slot.
    """

    swap_acceptance: Float[Array, " pairs"]
    accepted: Bool[Array, " pairs"]
    energy: Float[Array, " replicas"]
    log_weight: Float[Array, " pairs"]
    round_trips: Int[Array, ""]
    inner: Any


class SteppingStoneEstimate(NamedTuple):
    """``log_z`` with its standard error ``stderr`` (delta method, autocorrelation-aware) and
    the ``effective_sample_size`` of the linearised estimator (summed over chains). Prints as
    one line."""

    log_z: float
    stderr: float
    effective_sample_size: float

    @property
    def standard_error(self) -> float:
        """Deprecated: :attr:`stderr`, the name every physsamp result uses."""
        warnings.warn(
            "SteppingStoneEstimate.standard_error is deprecated; use .stderr",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.stderr

    def __str__(self) -> str:
        return (
            f"log Z = {self.log_z:.6g} ± {self.stderr:.3g} (stepping stones, "
            f"ESS {self.effective_sample_size:.1f})"
        )


# -- ladders ---------------------------------------------------------------------------------
def default_ladder(beta: float, num_replicas: int, beta_min: float = 0.0) -> np.ndarray:
    """``num_replicas`` equally spaced inverse temperatures from ``beta_min`` to ``beta``
    (Pigeons.jl's default start; :func:`adapt_ladder` then re-spaces them)."""
    num_replicas = int(num_replicas)
    if num_replicas < 2:
        raise ValueError(f"parallel tempering needs at least 2 replicas, got {num_replicas}")
    if not 0.0 <= beta_min < beta:
        raise ValueError(f"need 0 <= beta_min < beta, got beta_min={beta_min}, beta={beta}")
    return np.linspace(beta_min, beta, num_replicas)


def check_ladder(betas: ArrayLike) -> jax.Array:
    """Validate a concrete ladder (1-d, at least 2 entries, finite, non-negative, strictly
    ascending) and return it as float32; tracers pass unchecked."""
    if isinstance(betas, Tracer):
        return betas
    ladder = np.asarray(betas, dtype=np.float64)
    if ladder.ndim != 1 or ladder.size < 2:
        raise ValueError(f"betas must be a 1-d ladder of >= 2 values, got shape {ladder.shape}")
    if not np.all(np.isfinite(ladder)) or ladder.min() < 0:
        raise ValueError(f"betas must be finite and non-negative, got {ladder.tolist()}")
    steps = np.diff(ladder)
    if np.any(steps <= 0):
        k = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(
            f"betas must be strictly ascending (reference first, target last): "
            f"betas[{k}] = {ladder[k]} >= betas[{k + 1}] = {ladder[k + 1]}"
        )
    return jnp.asarray(ladder, dtype=jnp.float32)


def adapt_ladder(
    betas: Float[Array, " replicas"], rejection_rates: Float[Array, " pairs"]
) -> tuple[Float[Array, " replicas"], Float[Array, ""]]:
    r"""Re-space a ladder so that every neighbouring pair has the same rejection rate.

    With :math:`r_k` the rejection rate between :math:`\beta_k` and :math:`\beta_{k+1}`, the
    cumulative communication barrier :math:`\Lambda(\beta_k) = \sum_{j<k} r_j` is interpolated
    piecewise linearly (monotone, so invertible) and the new inverse temperatures are
    :math:`\beta'_k = \Lambda^{-1}(k \Lambda / (R - 1))`, keeping both ends (Syed et al. 2022,
    Algorithm 4, with a linear instead of a monotone cubic interpolant). Pure and jit-able.

    Returns ``(new_betas, global_barrier)`` with :math:`\Lambda = \sum_k r_k`.

    Example:
        >>> import jax.numpy as jnp
        >>> from physsamp.kernels.parallel_tempering import adapt_ladder
        >>> new, barrier = adapt_ladder(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.1, 0.3]))
        >>> [round(float(b), 3) for b in new], round(float(barrier), 3)
        ([0.0, 1.333, 2.0], 0.4)
    """
    betas = jnp.asarray(betas, dtype=jnp.float32)
    rates = jnp.clip(jnp.asarray(rejection_rates, dtype=jnp.float32), 0.0, 1.0)
    barrier = rates.sum()
    floored = jnp.maximum(rates, _MIN_REJECTION)
    cumulative = jnp.concatenate([jnp.zeros(1, floored.dtype), jnp.cumsum(floored)])
    targets = jnp.linspace(0.0, 1.0, betas.shape[0]) * cumulative[-1]
    new_betas = jnp.interp(targets, cumulative, betas)
    new_betas = new_betas.at[0].set(betas[0]).at[-1].set(betas[-1])
    return new_betas, barrier


def suggested_num_replicas(global_barrier: float) -> int:
    """About :math:`2\\Lambda` replicas (at least 2), the rule of thumb of Syed et al. (2022)
    and Pigeons.jl. With :math:`R - 1` pairs of equal rejection :math:`\\Lambda / (R - 1)`,
    :func:`round_trip_rate` gives :math:`\\tau = 1/(2 + 2\\Lambda (R-1)/(R-1-\\Lambda))`;
    round trips per unit of computation, :math:`\\tau / R`, peak near :math:`R = 2\\Lambda`
    for large :math:`\\Lambda` (where :math:`\\tau` is half its limit :math:`1/(2+2\\Lambda)`);
    on parallel hardware more replicas cost little and bring :math:`\\tau` closer to the limit."""
    return max(2, int(np.ceil(2.0 * float(global_barrier))))


def round_trip_rate(rejection_rates: ArrayLike) -> float:
    """The round-trip rate of non-reversible PT predicted from the pair rejection rates,
    :math:`\\tau = (2 + 2 \\sum_k r_k / (1 - r_k))^{-1}` round trips per step (all replicas
    together), exact when the local exploration renders the energies independent between swaps
    (Syed et al. 2022). It tends to :math:`1/(2 + 2\\Lambda)` as the ladder is refined; observed
    rates below it measure how far one inner step is from that ideal."""
    rates = np.clip(np.asarray(rejection_rates, dtype=np.float64), 0.0, 1.0 - 1e-12)
    return float(1.0 / (2.0 + 2.0 * np.sum(rates / (1.0 - rates))))


# -- kernel ----------------------------------------------------------------------------------
def init(
    positions: ArrayLike,
    model: EnergyModel,
    betas: ArrayLike,
    inner_init: Callable[[Array, EnergyModel], Any],
) -> ParallelTemperingState:
    """A state with replica ``r`` at slot ``r``.

    Args:
        positions: ``[R, num_sites]`` (one start per replica) or ``[num_sites]`` (the same
            start for every replica).
        model: the target model (its own beta is not used: the ladder is).
        betas: the ladder ``[R]``, ascending; ``betas[-1]`` is the target temperature.
        inner_init: the inner kernel's ``init(position, model)``.
    """
    ladder = check_ladder(betas)
    num_replicas = ladder.shape[0]
    starts = jnp.asarray(positions)
    if starts.ndim == 1:
        starts = jnp.broadcast_to(starts, (num_replicas, *starts.shape))
    if starts.shape != (num_replicas, model.num_sites):
        raise ValueError(
            f"positions must be [{num_replicas}, {model.num_sites}] (one per replica) or "
            f"[{model.num_sites}], got {starts.shape}"
        )
    replicas = jax.vmap(lambda x, b: inner_init(x, model.with_beta(b)))(starts, ladder)
    order = jnp.arange(num_replicas, dtype=jnp.int32)
    last_end = jnp.full(num_replicas, -1, jnp.int8).at[0].set(0)
    zero = jnp.array(0, jnp.int32)
    return ParallelTemperingState(
        replicas=replicas,
        betas=ladder,
        slot_of_replica=order,
        replica_at_slot=order,
        step_count=zero,
        last_end=last_end,
        round_trips=zero,
        restarts=zero,
        rejection_sum=jnp.zeros(num_replicas - 1, jnp.float32),
        num_recorded=zero,
        global_barrier=jnp.array(jnp.nan, jnp.float32),
    )


def build_kernel(inner_step: Callable, swap: str = "deo"):
    """A parallel-tempering step ``step(rng_key, state, model) -> (state, info)`` around
    ``inner_step(rng_key, inner_state, model)`` (any physsamp kernel's step).

    Every replica makes one inner step at its own beta (vmapped over replicas), then
    neighbouring slots propose swaps: the even pairs on even steps and the odd pairs on odd
    steps (``swap="deo"``, non-reversible, default), or even or odd by a coin flip
    (``swap="seo"``, reversible). The model's own beta is ignored; the state's ladder rules.
    """
    if swap not in SWAP_SCHEMES:
        raise ValueError(f"unknown swap scheme {swap!r}; choose one of {SWAP_SCHEMES}")

    def step(
        rng_key: jax.Array, state: ParallelTemperingState, model: EnergyModel
    ) -> tuple[ParallelTemperingState, ParallelTemperingInfo]:
        key_explore, key_parity, key_swap = jax.random.split(rng_key, 3)
        betas = state.betas
        num_replicas = betas.shape[0]
        slot = state.slot_of_replica
        at_slot = state.replica_at_slot

        replica_keys = jax.random.split(key_explore, num_replicas)
        replicas, inner_info = jax.vmap(
            lambda key, inner, beta: inner_step(key, inner, model.with_beta(beta))
        )(replica_keys, state.replicas, betas[slot])

        energy, own, below, above = _log_densities(
            model,
            replicas.position,
            betas[slot],
            betas[jnp.maximum(slot - 1, 0)],
            betas[jnp.minimum(slot + 1, num_replicas - 1)],
        )
        own, below, above = own[at_slot], below[at_slot], above[at_slot]
        log_weight = above[:-1] - own[:-1]
        log_ratio = log_weight + (below[1:] - own[1:])
        acceptance = jnp.exp(jnp.minimum(jnp.nan_to_num(log_ratio, nan=-jnp.inf), 0.0))

        if swap == "deo":
            parity = state.step_count % 2
        else:
            parity = jax.random.bernoulli(key_parity).astype(jnp.int32)
        pairs = jnp.arange(num_replicas - 1)
        proposed = pairs % 2 == parity
        accepted = proposed & (jax.random.uniform(key_swap, (num_replicas - 1,)) < acceptance)

        no = jnp.zeros(1, bool)
        with_next = jnp.concatenate([accepted, no])
        with_previous = jnp.concatenate([no, accepted])
        new_at_slot = jnp.where(
            with_next,
            jnp.roll(at_slot, -1),
            jnp.where(with_previous, jnp.roll(at_slot, 1), at_slot),
        )
        new_slot = (
            jnp.zeros_like(slot).at[new_at_slot].set(jnp.arange(num_replicas, dtype=slot.dtype))
        )

        at_reference = new_slot == 0
        at_target = new_slot == num_replicas - 1
        round_trips = state.round_trips + jnp.sum(at_reference & (state.last_end == 1))
        restarts = state.restarts + jnp.sum(at_target & (state.last_end == 0))
        last_end = jnp.where(at_reference, 0, jnp.where(at_target, 1, state.last_end))

        new_state = state._replace(
            replicas=replicas,
            slot_of_replica=new_slot,
            replica_at_slot=new_at_slot,
            step_count=state.step_count + 1,
            last_end=last_end.astype(jnp.int8),
            round_trips=round_trips.astype(jnp.int32),
            restarts=restarts.astype(jnp.int32),
            rejection_sum=state.rejection_sum + (1.0 - acceptance),
            num_recorded=state.num_recorded + 1,
        )
        info = ParallelTemperingInfo(
            swap_acceptance=acceptance,
            accepted=accepted,
            energy=energy[at_slot],
            log_weight=log_weight,
            round_trips=new_state.round_trips,
            inner=jax.tree.map(lambda leaf: leaf[at_slot], inner_info),
        )
        return new_state, info

    return step


def _log_densities(model: EnergyModel, positions: Array, own: Array, below: Array, above: Array):
    """Energies and unnormalised log densities of each replica at its own beta and the betas
    of the slots below and above it (replica order)."""
    if isinstance(model, PairwiseModel):
        # -beta * E(x): one energy evaluation serves every temperature.
        energy = model.unchecked_energy(positions)  # replicas never leave the support
        return energy, -own * energy, -below * energy, -above * energy

    def at(beta, x):
        return model.with_beta(beta).unnormalized_log_prob(x)

    energy = jax.vmap(lambda beta, x: model.with_beta(beta).unchecked_energy(x))(own, positions)
    return (
        energy,
        jax.vmap(at)(own, positions),
        jax.vmap(at)(below, positions),
        jax.vmap(at)(above, positions),
    )


# -- adaptation ------------------------------------------------------------------------------
def reset_statistics(state: ParallelTemperingState) -> ParallelTemperingState:
    """Zero the rejection accumulators and the round-trip and restart counts (the last end
    each replica visited is kept)."""
    zero = jnp.zeros_like(state.round_trips)
    return state._replace(
        round_trips=zero,
        restarts=zero,
        rejection_sum=jnp.zeros_like(state.rejection_sum),
        num_recorded=jnp.zeros_like(state.num_recorded),
    )


def adapt_round(state: ParallelTemperingState) -> ParallelTemperingState:
    """End an adaptation round: re-space the ladder with :func:`adapt_ladder` from the
    rejection rates recorded since the last reset, store the estimated global barrier, and
    reset the statistics."""
    new_betas, barrier = adapt_ladder(state.betas, state.rejection_rates)
    return reset_statistics(state)._replace(betas=new_betas, global_barrier=barrier)


def adaptation_schedule(
    num_warmup: int, first_round: int = 8, burn_in_fraction: float = 0.25
) -> np.ndarray:
    """The steps (1-based) after which warm-up adapts the ladder: rounds of doubling length
    ``first_round, 2 first_round, ...`` (Syed et al. 2022, Algorithm 4), the last stretched to
    end ``burn_in_fraction`` of the warm-up before its end, so that the chains settle on the
    final ladder before sampling. Empty when warm-up is too short for one round."""
    num_warmup = int(num_warmup)
    adapting = num_warmup - int(np.ceil(burn_in_fraction * num_warmup))
    if adapting < first_round:
        return np.zeros(0, np.int32)
    num_rounds = int(np.floor(np.log2(adapting / first_round + 1)))
    ends = first_round * (2 ** np.arange(1, num_rounds + 1) - 1)
    ends[-1] = adapting
    return ends.astype(np.int32)


def apply_schedule(
    state: ParallelTemperingState,
    step_number: Int[Array, ""],
    round_ends: ArrayLike,
    num_warmup: int,
) -> ParallelTemperingState:
    """After step ``step_number`` (1-based): adapt if a round ends there, and reset the
    statistics when warm-up ends, so that what sampling reports concerns the final ladder
    only. Shapes are static (``lax.cond``)."""
    ends = jnp.asarray(round_ends, dtype=jnp.int32)
    if ends.size:
        state = jax.lax.cond(jnp.isin(step_number, ends), adapt_round, lambda s: s, state)
    if num_warmup > 0:
        state = jax.lax.cond(step_number == num_warmup, reset_statistics, lambda s: s, state)
    return state


@partial(jax.jit, static_argnames=("step", "num_warmup", "first_round"))
def warmup(
    rng_key: jax.Array,
    step: Callable,
    state: ParallelTemperingState,
    model: EnergyModel,
    num_warmup: int,
    first_round: int = 8,
) -> ParallelTemperingState:
    """``num_warmup`` steps with the ladder adapted on :func:`adaptation_schedule` (as the
    NumPyro kernel does in its warm-up); returns the state with the tuned ladder and fresh
    statistics. For one chain; vmap it for several.

    Example:
        >>> import jax, jax.numpy as jnp, physsamp as ps
        >>> from physsamp.kernels import block_gibbs, parallel_tempering as pt
        >>> model = ps.Ising.lattice((6, 6), beta=0.6)
        >>> state = pt.init(model.uniform_configuration(jax.random.key(0), (5,)), model,
        ...                 jnp.linspace(0, 0.6, 5), block_gibbs.init)
        >>> step = pt.build_kernel(block_gibbs.build_kernel())
        >>> tuned = pt.warmup(jax.random.key(1), step, state, model, num_warmup=200)
        >>> bool(tuned.global_barrier > 0)
        True
    """
    round_ends = adaptation_schedule(num_warmup, first_round)

    def body(carry, step_number):
        current, key = carry
        key, key_step = jax.random.split(key)
        current, _ = step(key_step, current, model)
        return (apply_schedule(current, step_number, round_ends, num_warmup), key), None

    steps = jnp.arange(1, num_warmup + 1, dtype=jnp.int32)
    (state, _), _ = jax.lax.scan(body, (state, rng_key), steps)
    return state


# -- log partition function ------------------------------------------------------------------
def reference_log_partition(model: EnergyModel) -> float:
    """:math:`\\log Z` at beta = 0: every unit is free, so
    :math:`Z_0 = 2^N e^{\\log p^*_0}` with the (constant) unnormalised log density at beta = 0
    (0 for pairwise models; an RBM's summed-out hidden layer adds :math:`n_h \\log 2`)."""
    reference = model.with_beta(0.0)
    constant = float(reference.log_prob(jnp.full(model.num_sites, model.unit_values[0])))
    return model.num_sites * float(np.log(2.0)) + constant


def stepping_stone_log_partition(
    energies: ArrayLike, betas: ArrayLike, log_z0: float
) -> SteppingStoneEstimate:
    r"""log Z at ``betas[-1]`` from parallel-tempering energies: the stepping-stone estimator
    (Xie, Lewis, Fan, Kuo & Chen, Syst. Biol. 60, 150 (2011)),

    .. math:: \log Z(\beta_{R-1}) = \log Z(\beta_0) + \sum_{k=0}^{R-2} \log \frac1T \sum_{t}
       e^{-(\beta_{k+1} - \beta_k) E_{t,k}},

    with :math:`E_{t,k}` the energy at slot :math:`k` in draw :math:`t`.

    Args:
        energies: ``[draws, R]`` or ``[chains, draws, R]``, in slot order.
        betas: the ladder, ``[R]`` or one per chain ``[chains, R]``.
        log_z0: :math:`\log Z(\beta_0)`: :math:`N \log 2` for a pairwise model with
            :math:`\beta_0 = 0` (:func:`reference_log_partition`).

    The standard error linearises the estimator (delta method): per draw
    :math:`u_t = \sum_k w_{t,k} / \bar w_k`, whose mean's variance, from its autocorrelation
    (Geyer's initial monotone sequence), includes the correlation between temperatures.
    Chains are estimated separately and averaged.

    Example:
        >>> import numpy as np
        >>> from physsamp.kernels.parallel_tempering import stepping_stone_log_partition
        >>> energies = np.zeros((100, 3))  # a model with E = 0: Z = 2^N at every beta
        >>> round(stepping_stone_log_partition(energies, [0.0, 0.5, 1.0], 4 * np.log(2)).log_z, 4)
        2.7726
    """
    values = np.asarray(energies, dtype=np.float64)
    if values.ndim == 2:
        values = values[None]
    if values.ndim != 3:
        raise ValueError(f"energies must be [draws, R] or [chains, draws, R], got {values.shape}")
    ladder = np.asarray(betas, dtype=np.float64)
    ladder = np.broadcast_to(ladder, (values.shape[0], values.shape[2]))
    log_weights = -np.diff(ladder, axis=-1)[:, None, :] * values[..., :-1]
    return stepping_stone_from_log_weights(log_weights, log_z0)


def stepping_stone_from_log_weights(log_weights: ArrayLike, log_z0: float) -> SteppingStoneEstimate:
    """The stepping-stone estimator from the increments ``log_weights [draws, R-1]`` or
    ``[chains, draws, R-1]``: :math:`\\log p^*_{\\beta_{k+1}}(x) - \\log p^*_{\\beta_k}(x)` at
    draws of slot k (:attr:`ParallelTemperingInfo.log_weight`; valid for any model, an RBM
    included)."""
    weights = np.asarray(log_weights, dtype=np.float64)
    if weights.ndim == 2:
        weights = weights[None]
    estimates, variances, sizes = [], [], []
    for chain in weights:
        top = chain.max(axis=0)
        scaled = np.exp(chain - top)
        means = scaled.mean(axis=0)
        estimates.append(float(np.sum(np.log(means) + top)))
        linearised = (scaled / means).sum(axis=1)
        ess = _effective_sample_size(linearised)
        variances.append(float(linearised.var()) / ess)
        sizes.append(ess)
    num_chains = len(estimates)
    return SteppingStoneEstimate(
        log_z=float(log_z0) + float(np.mean(estimates)),
        stderr=float(np.sqrt(np.sum(variances)) / num_chains),
        effective_sample_size=float(np.sum(sizes)),
    )


def _effective_sample_size(x: np.ndarray) -> float:
    """ESS of one chain by Geyer's initial monotone sequence estimator."""
    n = x.size
    centred = x - x.mean()
    if n < 4 or not np.any(centred):
        return float(n)
    spectrum = np.fft.rfft(centred, 2 * n)
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / n
    rho = autocovariance / autocovariance[0]
    pair_sums = rho[: n - 1 : 2] + rho[1:n:2]
    positive = np.flatnonzero(pair_sums <= 0)
    pair_sums = pair_sums[: positive[0] if positive.size else pair_sums.size]
    pair_sums = np.minimum.accumulate(pair_sums)
    tau = max(-1.0 + 2.0 * pair_sums.sum(), 1.0 / np.log10(max(n, 10)))
    return float(n / tau)
