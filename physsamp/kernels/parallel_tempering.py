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
:math:`2\Lambda` replicas make a good ladder. :func:`adapt_ladder` is that pure map (a
monotone cubic interpolant, inverted by bisection); :func:`adapt_round` applies it to a state;
:func:`warmup` runs rounds of doubling length.

**Ladders that change size** (pad and mask): a state has room for ``R`` slots (its
*capacity*) of which the first ``num_active`` form the ladder; the others repeat the target
beta and take no part in swaps or statistics. ``adapt_round(state, resize=True)`` (and
``warmup(..., resize=True)``) resizes the ladder to :func:`suggested_num_replicas`, about
:math:`2\Lambda + 1`, without changing any shape, so nothing recompiles.

**Two copies**: ``init(..., num_copies=2)`` holds two independent copies of the ladder (two
replicas per temperature), for the overlaps of spin glasses (:func:`replica_overlaps`,
:func:`binder_ratio`) and Houdayer's cluster move between them
(``build_kernel(..., houdayer=True)``). :func:`ladder_health` judges a run.

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
    "LadderHealth",
    "ParallelTemperingInfo",
    "ParallelTemperingState",
    "PeriodStatistics",
    "SteppingStoneEstimate",
    "adapt_ladder",
    "adapt_round",
    "adaptation_schedule",
    "apply_schedule",
    "binder_ratio",
    "build_kernel",
    "default_capacity",
    "default_ladder",
    "init",
    "ladder_health",
    "reference_log_partition",
    "replica_overlaps",
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


class PeriodStatistics(NamedTuple):
    """What the statistics of the last finished period (an adaptation round, or the end of
    warm-up) held when they were reset: ``rejection_rates [R-1]``, ``round_trips`` and
    ``num_steps``."""

    rejection_rates: Float[Array, " pairs"]
    round_trips: Int[Array, ""]
    num_steps: Int[Array, ""]


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
    of Lambda made by the last :func:`adapt_round` (NaN before any). ``num_active``: the
    slots in use, ``n <= R`` (pad and mask: slots ``n .. R-1`` repeat the target beta, take no
    part in swaps and statistics, and let an adaptive ladder change its size without changing
    any shape; ``R`` is the *capacity*). ``previous_barrier``: the estimate of the round
    before (its agreement with ``global_barrier`` says whether the estimate has settled).
    ``last_period``: the statistics of the last period, kept by :func:`reset_statistics`.

    With two copies (:func:`init` with ``num_copies=2``), ``replicas``, ``slot_of_replica``,
    ``replica_at_slot`` and ``last_end`` have a leading copy axis of length 2; the ladder, the
    counts (summed over copies) and the rejection statistics (averaged over copies) are shared.
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
    num_active: Int[Array, ""]
    previous_barrier: Float[Array, ""]
    last_period: PeriodStatistics

    @property
    def num_copies(self) -> int:
        """1, or 2 when the state holds two independent copies of the ladder."""
        return 2 if self.replica_at_slot.ndim > self.betas.ndim else 1

    @property
    def position(self) -> Array:
        """The configuration of the replica at the target (top active) slot (the first
        copy's when there are two)."""
        by_slot = self.positions_by_slot
        if self.num_copies == 2:
            by_slot = by_slot[..., 0, :, :]
        index = jnp.broadcast_to(
            (self.num_active - 1)[..., None, None], (*by_slot.shape[:-2], 1, by_slot.shape[-1])
        )
        return jnp.take_along_axis(by_slot, index, axis=-2)[..., 0, :]

    @property
    def positions_by_slot(self) -> Array:
        """Every replica's configuration, ``[R, num_sites]`` in slot (temperature) order
        (``[2, R, num_sites]`` with two copies)."""
        # Works on chain-batched states too (leading axes before the replica axis).
        index = self.replica_at_slot[..., :, None]
        return jnp.take_along_axis(self.replicas.position, index, axis=-2)

    @property
    def rejection_rates(self) -> Float[Array, " pairs"]:
        """Mean rejection probability of each neighbouring pair since the last reset (0 for
        the pairs beyond the active slots)."""
        return self.rejection_sum / jnp.maximum(self.num_recorded, 1)[..., None]

    @property
    def active_pairs(self) -> Bool[Array, " pairs"]:
        """Which neighbouring pairs ``(k, k+1)`` lie inside the active slots."""
        pairs = jnp.arange(self.rejection_sum.shape[-1])
        return pairs < (self.num_active - 1)[..., None]


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
    ``cluster_size [R]``: the size of each slot's Houdayer cluster (``None`` without
    Houdayer moves). With two copies every field but ``round_trips`` has a leading copy axis.
    """

    swap_acceptance: Float[Array, " pairs"]
    accepted: Bool[Array, " pairs"]
    energy: Float[Array, " replicas"]
    log_weight: Float[Array, " pairs"]
    round_trips: Int[Array, ""]
    inner: Any
    cluster_size: Any = None


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


def default_capacity(num_sites: int) -> int:
    """The room an automatic ladder gets by default: :math:`2\\lceil\\sqrt N\\rceil + 1` slots
    between 8 and 64 (the barrier grows like the energy's standard deviation, about
    :math:`\\sqrt N` at fixed beta; a ladder that wants more says so in its health verdict)."""
    return int(np.clip(2 * np.ceil(np.sqrt(num_sites)) + 1, 8, 64))


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
    betas: Float[Array, " replicas"],
    rejection_rates: Float[Array, " pairs"],
    num_active: ArrayLike | None = None,
    new_num_active: ArrayLike | None = None,
) -> tuple[Float[Array, " replicas"], Float[Array, ""]]:
    r"""Re-space a ladder so that every neighbouring pair has the same rejection rate.

    With :math:`r_k` the rejection rate between :math:`\beta_k` and :math:`\beta_{k+1}`, the
    cumulative communication barrier :math:`\Lambda(\beta_k) = \sum_{j<k} r_j` is interpolated
    by a monotone cubic (Fritsch & Carlson, SIAM J. Numer. Anal. 17, 238 (1980), with the
    derivatives of Fritsch & Butland, as scipy's ``PchipInterpolator``) and inverted by
    bisection: :math:`\beta'_k = \Lambda^{-1}(k \Lambda / (n' - 1))`, keeping both ends (Syed,
    Bouchard-Côté, Deligiannidis & Doucet, JRSS-B 84, 321 (2022), Algorithm 4). Pure and
    jit-able; the sizes are data, not shapes.

    Args:
        betas: the ladder ``[R]``; only the first ``num_active`` entries are read.
        rejection_rates: ``[R-1]``; only the first ``num_active - 1`` are read.
        num_active: the slots in use (default all ``R``).
        new_num_active: the size of the new ladder (default ``num_active``), at most ``R``;
            the slots beyond it repeat the target beta.

    Returns ``(new_betas, global_barrier)`` with :math:`\Lambda = \sum_k r_k` over the active
    pairs.

    Example:
        >>> import jax.numpy as jnp
        >>> from physsamp.kernels.parallel_tempering import adapt_ladder
        >>> new, barrier = adapt_ladder(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.1, 0.3]))
        >>> [round(float(b), 3) for b in new], round(float(barrier), 3)
        ([0.0, 1.438, 2.0], 0.4)
        >>> grown, _ = adapt_ladder(jnp.array([0.0, 1.0, 2.0, 2.0]), jnp.array([0.5, 0.5, 0.0]),
        ...                         num_active=3, new_num_active=4)
        >>> [round(float(b), 3) for b in grown]
        [0.0, 0.667, 1.333, 2.0]
    """
    betas = jnp.asarray(betas, dtype=jnp.float32)
    capacity = betas.shape[0]
    n = jnp.asarray(capacity if num_active is None else num_active, jnp.int32)
    new_n = n if new_num_active is None else jnp.asarray(new_num_active, jnp.int32)
    pairs = jnp.arange(capacity - 1)
    active = pairs < n - 1
    rates = jnp.clip(jnp.asarray(rejection_rates, dtype=jnp.float32), 0.0, 1.0)
    barrier = jnp.sum(jnp.where(active, rates, 0.0))
    floored = jnp.where(active, jnp.maximum(rates, _MIN_REJECTION), 0.0)
    cumulative = jnp.concatenate([jnp.zeros(1, floored.dtype), jnp.cumsum(floored)])
    top = betas[n - 1]
    knots = jnp.where(jnp.arange(capacity) < n, betas, top)
    barrier_at = _monotone_cubic(knots, cumulative, n)

    slots = jnp.arange(capacity)
    targets = slots / jnp.maximum(new_n - 1, 1) * cumulative[n - 1]
    low = jnp.full(capacity, knots[0])
    high = jnp.full(capacity, top)

    def bisect(_, bounds):
        low, high = bounds
        middle = 0.5 * (low + high)
        below = barrier_at(middle) < targets
        return jnp.where(below, middle, low), jnp.where(below, high, middle)

    low, high = jax.lax.fori_loop(0, 40, bisect, (low, high))
    new_betas = 0.5 * (low + high)
    new_betas = jnp.where(slots == 0, knots[0], jnp.where(slots >= new_n - 1, top, new_betas))
    return new_betas, barrier


def _monotone_cubic(x: Array, y: Array, n: Array) -> Callable[[Array], Array]:
    """The piecewise cubic Hermite interpolant of the first ``n`` points ``(x, y)``
    (``x`` strictly increasing there, ``y`` increasing), with Fritsch-Butland derivatives:
    weighted harmonic means of the neighbouring slopes inside, the shape-preserving
    three-point formula at the ends, the straight line for two points."""
    capacity = x.shape[0]
    widths = jnp.diff(x)
    active = jnp.arange(capacity - 1) < n - 1
    safe = jnp.where(active, widths, 1.0)
    slopes = jnp.where(active, jnp.diff(y) / safe, 0.0)

    h0, h1, d0, d1 = safe[:-1], safe[1:], slopes[:-1], slopes[1:]
    w0, w1 = 2.0 * h1 + h0, h1 + 2.0 * h0
    same_sign = d0 * d1 > 0
    inner = jnp.where(
        same_sign,
        (w0 + w1) / (w0 / jnp.where(same_sign, d0, 1.0) + w1 / jnp.where(same_sign, d1, 1.0)),
        0.0,
    )

    def end(h_near, h_far, d_near, d_far):
        value = ((2.0 * h_near + h_far) * d_near - h_near * d_far) / (h_near + h_far)
        value = jnp.where(value * d_near <= 0, 0.0, value)
        flip = (d_near * d_far < 0) & (jnp.abs(value) > 3.0 * jnp.abs(d_near))
        return jnp.where(flip, 3.0 * d_near, value)

    last = n - 2  # the last active interval
    first_end = end(safe[0], safe[1], slopes[0], slopes[1])
    last_end = end(safe[last], safe[jnp.maximum(last - 1, 0)], slopes[last],
                   slopes[jnp.maximum(last - 1, 0)])  # fmt: skip
    two_points = n == 2
    derivatives = jnp.concatenate([first_end[None], inner, jnp.zeros(1, x.dtype)])
    derivatives = derivatives.at[0].set(jnp.where(two_points, slopes[0], first_end))
    derivatives = derivatives.at[n - 1].set(jnp.where(two_points, slopes[0], last_end))

    def evaluate(point: Array) -> Array:
        k = jnp.clip(jnp.searchsorted(x, point, side="right") - 1, 0, n - 2)
        h = safe[k]
        t = (point - x[k]) / h
        t2, t3 = t * t, t * t * t
        return (
            (2 * t3 - 3 * t2 + 1) * y[k]
            + (t3 - 2 * t2 + t) * h * derivatives[k]
            + (-2 * t3 + 3 * t2) * y[k + 1]
            + (t3 - t2) * h * derivatives[k + 1]
        )

    return evaluate


def suggested_num_replicas(global_barrier: float) -> int:
    """About :math:`2\\Lambda + 1` replicas (at least 2): :math:`2\\Lambda` pairs, each
    rejecting about half its swaps, the rule of thumb of Syed et al. (2022) and Pigeons.jl.
    With :math:`n - 1` pairs of equal rejection :math:`\\Lambda / (n - 1)`,
    :func:`round_trip_rate` gives :math:`\\tau = 1/(2 + 2\\Lambda (n-1)/(n-1-\\Lambda))`;
    round trips per unit of computation, :math:`\\tau / n`, peak near :math:`n = 2\\Lambda`
    for large :math:`\\Lambda` (where :math:`\\tau` is half its limit :math:`1/(2+2\\Lambda)`);
    on parallel hardware more replicas cost little and bring :math:`\\tau` closer to the limit.
    ``betas="auto"`` sizes the ladder by this rule during warm-up."""
    return max(2, int(np.ceil(2.0 * float(global_barrier))) + 1)


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
    capacity: int | None = None,
    num_copies: int = 1,
) -> ParallelTemperingState:
    """A state with replica ``r`` at slot ``r``.

    Args:
        positions: one start per slot, ``[capacity, num_sites]`` (``[2, capacity, num_sites]``
            for two copies), or ``[num_sites]`` (the same start everywhere).
        model: the target model (its own beta is not used: the ladder is).
        betas: the ladder ``[n]``, ascending; ``betas[-1]`` is the target temperature.
        inner_init: the inner kernel's ``init(position, model)``.
        capacity: the number of slots ``R >= n`` the state has room for (default ``n``):
            the slots beyond ``n`` repeat the target beta and stay out of the swaps until a
            resized ladder (:func:`adapt_round` with ``resize=True``) uses them.
        num_copies: 1, or 2 for two independent copies of the ladder (two replicas per
            temperature: spin-glass overlaps, Houdayer moves).
    """
    ladder = check_ladder(betas)
    num_active = ladder.shape[0]
    capacity = num_active if capacity is None else int(capacity)
    if capacity < num_active:
        raise ValueError(f"capacity {capacity} is below the ladder's {num_active} replicas")
    if num_copies not in (1, 2):
        raise ValueError(f"num_copies must be 1 or 2, got {num_copies}")
    ladder = jnp.concatenate([ladder, jnp.full(capacity - num_active, ladder[-1])])
    starts = jnp.asarray(positions)
    shape = (capacity, model.num_sites) if num_copies == 1 else (2, capacity, model.num_sites)
    if starts.ndim == 1:
        starts = jnp.broadcast_to(starts, (*shape[:-1], *starts.shape))
    if starts.shape != shape:
        raise ValueError(
            f"positions must be {list(shape)} (one per replica{' and copy' * (num_copies - 1)}) "
            f"or [{model.num_sites}], got {starts.shape}"
        )
    build = jax.vmap(lambda x, b: inner_init(x, model.with_beta(b)))
    if num_copies == 2:
        build = jax.vmap(build, (0, None))
    replicas = build(starts, ladder)
    order = jnp.arange(capacity, dtype=jnp.int32)
    last_end = jnp.full(capacity, -1, jnp.int8).at[0].set(0)
    if num_copies == 2:
        order, last_end = jnp.stack([order, order]), jnp.stack([last_end, last_end])
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
        rejection_sum=jnp.zeros(capacity - 1, jnp.float32),
        num_recorded=zero,
        global_barrier=jnp.array(jnp.nan, jnp.float32),
        num_active=jnp.array(num_active, jnp.int32),
        previous_barrier=jnp.array(jnp.nan, jnp.float32),
        last_period=PeriodStatistics(jnp.zeros(capacity - 1, jnp.float32), zero, zero),
    )


def build_kernel(inner_step: Callable, swap: str = "deo", houdayer: bool = False):
    """A parallel-tempering step ``step(rng_key, state, model) -> (state, info)`` around
    ``inner_step(rng_key, inner_state, model)`` (any physsamp kernel's step).

    Every replica makes one inner step at its own beta (vmapped over replicas), then
    neighbouring slots propose swaps: the even pairs on even steps and the odd pairs on odd
    steps (``swap="deo"``, non-reversible, default), or even or odd by a coin flip
    (``swap="seo"``, reversible). The model's own beta is ignored; the state's ladder rules.

    With two copies, both ladders explore and swap independently; ``houdayer=True`` adds,
    between the exploration and the swaps, one Houdayer cluster move between the two replicas
    at every temperature (:func:`physsamp.kernels.houdayer.houdayer_move`; Houdayer, Eur.
    Phys. J. B 22, 479 (2001)). It conserves the sum of their energies, so it needs no
    acceptance test and leaves :math:`p_k(x) p_k(y)` invariant at every slot.
    """
    if swap not in SWAP_SCHEMES:
        raise ValueError(f"unknown swap scheme {swap!r}; choose one of {SWAP_SCHEMES}")

    def explore(rng_key, replicas, slot, betas, model):
        keys = jax.random.split(rng_key, slot.shape[0])
        return jax.vmap(lambda key, inner, beta: inner_step(key, inner, model.with_beta(beta)))(
            keys, replicas, betas[slot]
        )

    def communicate(rng_key, state, replicas, slot, at_slot, last_end, model):
        """One copy's swap phase; returns its new permutation and what it saw."""
        key_parity, key_swap = jax.random.split(rng_key)
        betas = state.betas
        num_replicas = betas.shape[0]
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
        active = pairs < state.num_active - 1
        proposed = (pairs % 2 == parity) & active
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
        at_target = new_slot == state.num_active - 1
        trips = jnp.sum(at_reference & (last_end == 1))
        restarts = jnp.sum(at_target & (last_end == 0))
        new_last_end = jnp.where(at_reference, 0, jnp.where(at_target, 1, last_end))
        rejection = jnp.where(active, 1.0 - acceptance, 0.0)
        return (new_slot, new_at_slot, new_last_end.astype(jnp.int8), trips, restarts,
                rejection, acceptance, accepted, energy[at_slot], log_weight)  # fmt: skip

    def step(
        rng_key: jax.Array, state: ParallelTemperingState, model: EnergyModel
    ) -> tuple[ParallelTemperingState, ParallelTemperingInfo]:
        key_explore, key_houdayer, key_swap = jax.random.split(rng_key, 3)
        copies = state.num_copies == 2
        if houdayer and not copies:
            raise ValueError(
                "Houdayer moves need two copies of the ladder (init(..., num_copies=2))"
            )
        slot, at_slot = state.slot_of_replica, state.replica_at_slot
        if copies:
            replicas, inner_info = jax.vmap(explore, (0, 0, 0, None, None))(
                jax.random.split(key_explore), state.replicas, slot, state.betas, model
            )
        else:
            replicas, inner_info = explore(key_explore, state.replicas, slot, state.betas, model)
        cluster_size = None
        if houdayer:
            replicas, cluster_size = _houdayer_by_slot(key_houdayer, replicas, at_slot, model)

        if copies:
            swapped = jax.vmap(communicate, (0, None, 0, 0, 0, 0, None))(
                jax.random.split(key_swap), state, replicas, slot, at_slot, state.last_end, model
            )
        else:
            swapped = communicate(key_swap, state, replicas, slot, at_slot, state.last_end, model)
        new_slot, new_at_slot, last_end, trips, restarts, rejection, *seen = swapped
        acceptance, accepted, energy, log_weight = seen
        if copies:
            trips, restarts, rejection = trips.sum(), restarts.sum(), rejection.mean(axis=0)

        new_state = state._replace(
            replicas=replicas,
            slot_of_replica=new_slot,
            replica_at_slot=new_at_slot,
            step_count=state.step_count + 1,
            last_end=last_end,
            round_trips=(state.round_trips + trips).astype(jnp.int32),
            restarts=(state.restarts + restarts).astype(jnp.int32),
            rejection_sum=state.rejection_sum + rejection,
            num_recorded=state.num_recorded + 1,
        )

        def by_slot(info, order):
            return jax.tree.map(lambda leaf: leaf[order], info)

        inner_by_slot = (
            jax.vmap(by_slot)(inner_info, at_slot) if copies else by_slot(inner_info, at_slot)
        )
        info = ParallelTemperingInfo(
            swap_acceptance=acceptance,
            accepted=accepted,
            energy=energy,
            log_weight=log_weight,
            round_trips=new_state.round_trips,
            inner=inner_by_slot,
            cluster_size=cluster_size,
        )
        return new_state, info

    return step


def _houdayer_by_slot(rng_key: Array, replicas: Any, at_slot: Array, model: EnergyModel):
    """One Houdayer move between the two copies' replicas at every slot; returns the replicas
    with their new positions and the cluster size per slot."""
    from physsamp.kernels.houdayer import houdayer_moves

    positions = replicas.position  # [2, R, N], replica order
    first = positions[0][at_slot[0]]
    second = positions[1][at_slot[1]]
    first, second, info = houdayer_moves(rng_key, first, second, model)
    positions = positions.at[0, at_slot[0]].set(first).at[1, at_slot[1]].set(second)
    return replicas._replace(position=positions), info.cluster_size


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
    """Zero the rejection accumulators and the round-trip and restart counts, keeping what
    they held in ``last_period`` (the last end each replica visited is kept)."""
    zero = jnp.zeros_like(state.round_trips)
    period = PeriodStatistics(state.rejection_rates, state.round_trips, state.num_recorded)
    return state._replace(
        last_period=period,
        round_trips=zero,
        restarts=zero,
        rejection_sum=jnp.zeros_like(state.rejection_sum),
        num_recorded=jnp.zeros_like(state.num_recorded),
    )


def adapt_round(
    state: ParallelTemperingState, resize: bool = False, min_replicas: int = 3
) -> ParallelTemperingState:
    """End an adaptation round: re-space the ladder with :func:`adapt_ladder` from the
    rejection rates recorded since the last reset, store the estimated global barrier (and
    the previous one in ``previous_barrier``), and reset the statistics.

    With ``resize=True`` the ladder also takes :func:`suggested_num_replicas` slots, about
    :math:`2\\Lambda + 1`, between ``min_replicas`` and the state's capacity; when the size
    changes, each new slot starts from the replica of the old slot nearest in beta (the
    replicas are relabelled in slot order and round-trip bookkeeping starts afresh). Shapes
    never change, so a resized ladder does not recompile."""
    rates = state.rejection_rates
    n = state.num_active
    capacity = state.betas.shape[-1]
    barrier = jnp.sum(jnp.where(state.active_pairs, jnp.clip(rates, 0.0, 1.0), 0.0))
    new_n = n
    if resize:
        wanted = jnp.ceil(2.0 * jnp.nan_to_num(barrier)).astype(jnp.int32) + 1
        new_n = jnp.clip(wanted, min(min_replicas, capacity), capacity)
    new_betas, barrier = adapt_ladder(state.betas, rates, n, new_n)
    adapted = reset_statistics(state)._replace(
        betas=new_betas,
        global_barrier=barrier,
        previous_barrier=state.global_barrier,
        num_active=new_n,
    )
    if not resize:
        return adapted
    return jax.lax.cond(new_n == n, lambda s: s, partial(_relabel, state), adapted)


def _relabel(old: ParallelTemperingState, new: ParallelTemperingState) -> ParallelTemperingState:
    """Give slot ``j`` of the resized ladder the replica of the old slot nearest in beta, with
    replicas stored in slot order."""
    capacity = old.betas.shape[-1]
    used = jnp.arange(capacity) < old.num_active
    distance = jnp.abs(new.betas[:, None] - old.betas[None, :])
    source_slot = jnp.argmin(jnp.where(used[None, :], distance, jnp.inf), axis=1)

    def one(replicas, at_slot):
        return jax.tree.map(lambda leaf: leaf[at_slot[source_slot]], replicas)

    order = jnp.arange(capacity, dtype=jnp.int32)
    last_end = jnp.full(capacity, -1, jnp.int8).at[0].set(0)
    if old.num_copies == 2:
        replicas = jax.vmap(one)(old.replicas, old.replica_at_slot)
        order, last_end = jnp.stack([order, order]), jnp.stack([last_end, last_end])
    else:
        replicas = one(old.replicas, old.replica_at_slot)
    return new._replace(
        replicas=replicas, slot_of_replica=order, replica_at_slot=order, last_end=last_end
    )


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
    resize: bool = False,
) -> ParallelTemperingState:
    """After step ``step_number`` (1-based): adapt if a round ends there (resizing the
    ladder with ``resize=True``, see :func:`adapt_round`), and reset the statistics when
    warm-up ends, so that what sampling reports concerns the final ladder only. Shapes are
    static (``lax.cond``)."""
    ends = jnp.asarray(round_ends, dtype=jnp.int32)
    if ends.size:
        adapt = partial(adapt_round, resize=resize)
        state = jax.lax.cond(jnp.isin(step_number, ends), adapt, lambda s: s, state)
    if num_warmup > 0:
        state = jax.lax.cond(step_number == num_warmup, reset_statistics, lambda s: s, state)
    return state


@partial(jax.jit, static_argnames=("step", "num_warmup", "first_round", "resize"))
def warmup(
    rng_key: jax.Array,
    step: Callable,
    state: ParallelTemperingState,
    model: EnergyModel,
    num_warmup: int,
    first_round: int = 8,
    resize: bool = False,
) -> ParallelTemperingState:
    """``num_warmup`` steps with the ladder adapted on :func:`adaptation_schedule` (as the
    NumPyro kernel does in its warm-up), and resized to about :math:`2\\Lambda + 1` slots
    within the state's capacity with ``resize=True``; returns the state with the tuned
    ladder and fresh statistics. For one chain; vmap it for several.

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
        current = apply_schedule(current, step_number, round_ends, num_warmup, resize)
        return (current, key), None

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


# -- two copies: overlaps ----------------------------------------------------------------------
def replica_overlaps(
    state: ParallelTemperingState, model: PairwiseModel
) -> tuple[Float[Array, " replicas"], Float[Array, " replicas"]]:
    r"""The overlap and the link overlap of the two copies' replicas at every slot,

    .. math:: q = \frac1N \sum_i s_i t_i, \qquad
       q_l = \frac1{N_b} \sum_{(ij)} s_i s_j t_i t_j,

    with :math:`s, t` the two configurations as spins :math:`\pm 1` and the sum of
    :math:`q_l` over the model's :math:`N_b` edges (Edwards & Anderson, J. Phys. F 5, 965
    (1975); the link overlap as in Katzgraber, Palassini & Young, Phys. Rev. B 63, 184422
    (2001)). For a state with two copies (:func:`init` with ``num_copies=2``).

    Example:
        >>> import jax, physsamp as ps
        >>> from physsamp.kernels import block_gibbs, parallel_tempering as pt
        >>> model = ps.Ising.lattice((4, 4), beta=0.5)
        >>> state = pt.init(model.uniform_configuration(jax.random.key(0), (2, 3)), model,
        ...                 [0.0, 0.25, 0.5], block_gibbs.init, num_copies=2)
        >>> q, q_link = pt.replica_overlaps(state, model)
        >>> q.shape, bool(abs(q).max() <= 1)
        ((3,), True)
    """
    if state.num_copies != 2:
        raise ValueError("overlaps need a state with two copies (init(..., num_copies=2))")
    low, high = model.unit_values
    spins = (2.0 * (state.positions_by_slot - low) / (high - low) - 1.0).astype(jnp.float32)
    first, second = spins[..., 0, :, :], spins[..., 1, :, :]
    product = first * second
    overlap = product.mean(axis=-1)
    edges = jnp.asarray(model.edges)
    if edges.shape[0] == 0:
        return overlap, jnp.zeros_like(overlap)
    link = (product[..., edges[:, 0]] * product[..., edges[:, 1]]).mean(axis=-1)
    return overlap, link


def binder_ratio(overlaps: ArrayLike, axis: int = 0) -> np.ndarray:
    r"""The Binder ratio :math:`g = \frac12 \bigl(3 - \langle q^4 \rangle / \langle q^2
    \rangle^2\bigr)` of overlap draws along ``axis`` (Binder, Z. Phys. B 43, 119 (1981); Bhatt
    & Young, Phys. Rev. Lett. 54, 924 (1985)): 1 for :math:`q = \pm 1`, 0 for a Gaussian
    :math:`q`, :math:`1/N` for :math:`N` independent spins (infinite temperature).

    Example:
        >>> import numpy as np
        >>> from physsamp.kernels.parallel_tempering import binder_ratio
        >>> float(binder_ratio(np.array([1.0, -1.0, 1.0, 1.0])))
        1.0
    """
    values = np.asarray(overlaps, dtype=np.float64)
    second = np.mean(values**2, axis=axis)
    fourth = np.mean(values**4, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * (3.0 - fourth / second**2)


# -- health ------------------------------------------------------------------------------------
class LadderHealth(NamedTuple):
    """A verdict on a tempering run: ``status`` ("healthy", or the first problem found:
    "unsettled barrier", "ladder too short", "capacity too small", "local moves",
    "too few steps"), ``message`` (what was measured and what to do), and the numbers behind
    it. Prints as its message."""

    status: str
    message: str
    global_barrier: float
    previous_barrier: float
    num_replicas: int
    suggested_num_replicas: int
    observed_round_trip_rate: float
    predicted_round_trip_rate: float
    round_trip_rate_limit: float

    def __str__(self) -> str:
        return self.message


def ladder_health(
    rejection_rates: ArrayLike,
    round_trips: float,
    num_steps: int,
    previous_barrier: float = float("nan"),
    capacity: int | None = None,
    num_copies: int = 1,
    stage: str = "sampling",
) -> LadderHealth:
    r"""Judge a ladder from what a run measured.

    Args:
        rejection_rates: mean rejection of each active pair (``[n-1]``).
        round_trips: round trips completed over ``num_steps`` steps (all copies together).
        num_steps: steps the rates and trips were measured over.
        previous_barrier: an earlier estimate of :math:`\Lambda` (the round before, or the
            warm-up's), to tell whether the estimate has settled.
        capacity: the most replicas the state has room for (``None``: the ladder cannot grow).
        num_copies: 2 when two copies share the ladder (their trips are averaged).
        stage: "warm-up" or "sampling", for the message.

    The checks, in order (Syed, Bouchard-Côté, Deligiannidis & Doucet, JRSS-B 84, 321 (2022)):
    the barrier :math:`\Lambda = \sum_k r_k` differs from ``previous_barrier`` by more than 20 %
    (unsettled: lengthen the warm-up); more than ``capacity`` replicas are suggested (raise
    ``max_replicas``); the ladder has fewer than 80 % of the suggested replicas, or a pair
    rejects more than 90 % of its swaps (the ladder is too short); fewer than 10 round trips
    were expected from the rate the rejections predict,
    :math:`\tau = (2 + 2 \sum_k r_k/(1 - r_k))^{-1}` (run longer to judge); the observed round
    trips fall below 60 % of :math:`\tau` by more than three Poisson standard deviations (the
    local moves do not decorrelate the replicas between swaps: more sweeps per step, a cluster
    kernel or Houdayer moves). At the suggested size :math:`\tau` is about half its limit
    :math:`1/(2 + 2\Lambda)`.

    Example:
        >>> from physsamp.kernels.parallel_tempering import ladder_health
        >>> print(ladder_health([0.3, 0.3, 0.3], round_trips=200, num_steps=1000).status)
        healthy
        >>> print(ladder_health([0.3, 0.3, 0.3], round_trips=20, num_steps=1000).status)
        local moves
    """
    rates = np.clip(np.asarray(rejection_rates, dtype=np.float64), 0.0, 1.0)
    barrier = float(rates.sum())
    num_replicas = rates.size + 1
    wanted = suggested_num_replicas(barrier)
    predicted = round_trip_rate(rates)
    limit = 1.0 / (2.0 + 2.0 * barrier)
    observed = float(round_trips) / max(num_copies, 1) / max(int(num_steps), 1)
    expected = predicted * int(num_steps)
    worst = int(np.argmax(rates)) if rates.size else 0
    problems: list[tuple[str, str]] = []
    if np.isfinite(previous_barrier) and abs(barrier - previous_barrier) > 0.2 * max(barrier, 0.5):
        problems.append(("unsettled barrier",
            f"the barrier estimate moved from {previous_barrier:.3g} to {barrier:.3g}: lengthen "
            "the warm-up so that the ladder settles"))  # fmt: skip
    if capacity is not None and wanted > capacity:
        problems.append(("capacity too small",
            f"the barrier asks for about {wanted} replicas but the ladder has room for "
            f"{capacity}: raise max_replicas"))  # fmt: skip
    elif num_replicas < 0.8 * wanted or rates.max() > 0.9:
        problems.append(("ladder too short",
            f"{num_replicas} replicas reject {rates.mean():.0%} of swaps on average (pair "
            f"{worst}: {rates[worst]:.0%}): use about {wanted} replicas (betas={wanted} or "
            "betas='auto')"))  # fmt: skip
    if expected < 10:
        problems.append(("too few steps",
            f"only {expected:.1f} round trips were expected in {num_steps} steps: run longer "
            "to judge the mixing across temperatures"))  # fmt: skip
    elif observed < 0.6 * predicted and observed * num_steps < expected - 3 * np.sqrt(expected):
        problems.append(("local moves",
            f"round trips happen at {observed:.3g} per step, {observed / predicted:.0%} of the "
            f"{predicted:.3g} the swap rates predict: the replicas do not decorrelate between "
            "swaps; make more local moves per step (kernel_kwargs={'num_sweeps': ...}), use "
            "cluster moves (SwendsenWang for ferromagnets, houdayer=True for 2D spin glasses) "
            "or more replicas"))  # fmt: skip
    numbers = (f"{stage}: barrier {barrier:.3g}, {num_replicas} replicas (about {wanted} "
               f"suggested), {observed:.3g} round trips per step ({predicted:.3g} predicted, "
               f"limit {limit:.3g})")  # fmt: skip
    if problems:
        status = problems[0][0]
        message = f"{numbers}. " + "; ".join(f"{name}: {text}" for name, text in problems)
    else:
        status, message = "healthy", f"{numbers}. healthy"
    return LadderHealth(status, message, barrier, float(previous_barrier), num_replicas,
                        wanted, observed, predicted, limit)  # fmt: skip
