r"""Annealed importance sampling (AIS) with any physsamp kernel as the transition.

AIS [Neal2001]_ estimates the ratio :math:`Z_K / Z_0` of the normalising constants of a target
:math:`p_K \propto f_K` and a tractable base :math:`p_0 \propto f_0` through a path of
intermediate densities :math:`f_t`, :math:`0 = t_0 < t_1 < \dots < t_K = 1`. One run draws
:math:`x \sim p_0` and, for :math:`k = 1, \dots, K`, adds to its log-weight

.. math:: \Delta_k = \log f_{t_k}(x) - \log f_{t_{k-1}}(x)

at its current :math:`x`, then moves :math:`x` with a transition that leaves :math:`p_{t_k}`
invariant (the last move, at the target, only improves the final sample). The
weight :math:`w = e^{\sum_k \Delta_k}` is unbiased, :math:`\mathbb{E}[w] = Z_K / Z_0`, so from
:math:`R` independent runs

.. math:: \log \hat Z_K = \log Z_0 + \log \frac1R \sum_r e^{\log w_r}

(a log-mean-exp in float64; every run's log-weight is kept). By Jensen's inequality
:math:`\mathbb{E}[\log \hat Z_K] \le \log Z_K`: forward AIS is a stochastic lower bound. Run
backwards from exact samples of the target, the same procedure estimates :math:`Z_0 / Z_K` and
gives a stochastic upper bound (bidirectional Monte Carlo, [Grosse2015]_).

Paths (pytrees, so the path is data and changing it never recompiles):

* :class:`TemperaturePath` — :math:`f_t(x) = e^{-t \beta E(x)}` for a pairwise model (Ising,
  Boltzmann machine): the base is the uniform distribution, :math:`\log Z_0 = N \log 2`, the
  increment is :math:`(t_k - t_{k-1})(-\beta E(x))` and the transition at :math:`t` is any
  kernel step applied to ``model.with_beta(t * beta)``.
* :class:`BaseRatePath` — the RBM path of [SM2008]_: the joint densities of a base RBM with no
  weights and visible biases :math:`a^A` and of the target are mixed geometrically,
  :math:`p_t(v, h) \propto e^{(1-t)\, a^{A\top} v - t \beta E(v, h)}`, and the hidden units
  are summed out analytically,

  .. math:: \log f_t(v) = (1 - t)\, a^{A\top} v + t \beta a^\top v
     + \sum_j \operatorname{softplus}\big(t \beta (b_j + v^\top W_{:j})\big),
     \qquad \log Z_0 = n_h \log 2 + \sum_i \operatorname{softplus}(a^A_i) .

  Every intermediate is itself an RBM (weights :math:`t\beta W`, visible biases
  :math:`(1-t)a^A + t\beta a`, hidden biases :math:`t\beta b`), so the layer-wise Gibbs
  transition of :func:`build_rbm_kernel` (or block Gibbs on :meth:`BaseRatePath.model_at`)
  leaves it invariant.

The pure core: :func:`init` / :func:`build_kernel` adapt any kernel (``step(rng_key, state,
model)``) to an AIS step ``step(rng_key, state, path, t_from, t_to)`` for one run, mapped over
runs; two transitions move the whole batch at once (a :class:`BatchStep`): the fused RBM
transition (:func:`rbm_init` / :func:`build_rbm_kernel`) and block Gibbs on a periodic lattice
(:func:`lattice_init` / :func:`build_lattice_kernel`, the same chains as the generic step).
:func:`run` drives a batch of runs over a schedule in chunks of one compiled loop, each run's
keys drawn ahead for the chunk (a progress bar moves between chunks);
:func:`weight_statistics` turns log-weights into the estimate, its standard error and the
weights' effective sample size.

References:
    .. [Neal2001] R. M. Neal, "Annealed importance sampling", Statistics and Computing 11,
       125-139 (2001).
    .. [SM2008] R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
       networks", ICML (2008).
    .. [Grosse2013] R. B. Grosse, C. J. Maddison and R. Salakhutdinov, "Annealing between
       distributions by averaging moments", NeurIPS (2013).
    .. [Grosse2015] R. B. Grosse, Z. Ghahramani and R. P. Adams, "Sandwiching the marginal
       likelihood using bidirectional Monte Carlo", arXiv:1511.02543 (2015).

Example:
    >>> import jax, numpy as np, physsamp as ps
    >>> from physsamp.kernels import ais, block_gibbs
    >>> model = ps.Ising.lattice((4, 4), beta=0.3)
    >>> path = ais.TemperaturePath(model)
    >>> starts = path.base_sample(jax.random.key(0), (64,))
    >>> states = jax.vmap(ais.init, (0, None, None))(starts, path, block_gibbs.init)
    >>> step = ais.build_kernel(block_gibbs.build_kernel())
    >>> out = ais.run(jax.random.key(1), path, ais.schedule("linear", 200), states, step)
    >>> log_z, stderr, ess = ais.weight_statistics(out.log_weights, path.base_log_partition())
    >>> bool(abs(log_z - ps.exact.log_partition(model)) < 4 * stderr)
    True
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from physsamp.distributed import host_array, is_main_process
from physsamp.kernels import block_gibbs
from physsamp.kernels._random import (
    blocks,
    check_generator,
    fold_in,
    fused_threefry,
    hash_uniforms,
    key_words,
)
from physsamp.models.base import EnergyModel, matmul
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

__all__ = [
    "AISInfo",
    "AISRun",
    "AISState",
    "BaseRatePath",
    "BatchStep",
    "LatticeAnnealState",
    "RBMAnnealState",
    "TemperaturePath",
    "build_kernel",
    "build_lattice_kernel",
    "build_rbm_kernel",
    "default_path",
    "init",
    "lattice_init",
    "log_mean_exp",
    "positions",
    "rbm_init",
    "run",
    "schedule",
    "supports_lattice_kernel",
    "weight_statistics",
]

SCHEDULES = ("linear", "geometric", "sigmoid")


# -- paths ------------------------------------------------------------------------------------
class TemperaturePath(NamedTuple):
    r"""The inverse-temperature path :math:`f_t(x) = e^{-t \beta E(x)}` from the uniform
    distribution (:math:`t = 0`) to ``target`` (:math:`t = 1`, the model's own beta)."""

    target: EnergyModel

    def model_at(self, t: Array | float) -> EnergyModel:
        """The intermediate distribution at ``t`` as a model (``target.with_beta(t * beta)``)."""
        return self.target.with_beta(t * self.target.beta)

    def log_weight_increment(self, x: Array, t_from: Array | float, t_to: Array | float) -> Array:
        r""":math:`\log f_{t_{to}}(x) - \log f_{t_{from}}(x)`."""
        if isinstance(self.target, PairwiseModel):
            return (t_to - t_from) * self.target.unnormalized_log_prob(x)
        to, start = self.model_at(t_to), self.model_at(t_from)
        return to.unnormalized_log_prob(x) - start.unnormalized_log_prob(x)

    def base_sample(self, rng_key: jax.Array, sample_shape: tuple[int, ...] = ()) -> Array:
        """Exact samples of the base (uniform) distribution."""
        return self.target.uniform_configuration(rng_key, sample_shape)

    def base_log_partition(self) -> float:
        r""":math:`\log Z_0 = N \log 2`."""
        if isinstance(self.target, RBM):
            return (self.target.num_visible + self.target.num_hidden) * math.log(2.0)
        return self.target.num_sites * math.log(2.0)


def softplus(x: Array) -> Array:
    r""":math:`\log(1 + e^x)` as :math:`\max(x, 0) + \operatorname{log1p}(e^{-|x|})`: stable,
    and on XLA:CPU about five times faster than ``jax.nn.softplus`` (a ``logaddexp`` with
    special-value handling; ``benchmarks/softplus.py``), which dominated an RBM's AIS step."""
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


class BaseRatePath(NamedTuple):
    r"""The path of [SM2008]_ from a base-rate model (independent visible units with logits
    ``base_visible_bias``, and as many free hidden units) to the RBM ``target``; see the module
    docstring for :math:`\log f_t`."""

    target: RBM
    base_visible_bias: Array

    def hidden_input(self, v: Array) -> Array:
        r""":math:`\beta (b + v^\top W)`, the target's hidden input (t-independent)."""
        rbm = self.target
        visible = jnp.asarray(v).astype(jnp.float32)
        return rbm.beta * (matmul(visible, rbm.weights) + rbm.hidden_bias)

    def model_at(self, t: Array | float) -> RBM:
        """The intermediate distribution at ``t`` as an RBM at beta = 1."""
        rbm = self.target
        model = copy.copy(rbm)
        model.weights = t * rbm.beta * rbm.weights
        model.visible_bias = (1 - t) * self.base_visible_bias + t * rbm.beta * rbm.visible_bias
        model.hidden_bias = t * rbm.beta * rbm.hidden_bias
        model.beta = jnp.ones_like(rbm.beta)
        return model

    def visible_gain(self) -> Array:
        r""":math:`\beta a - a^A`: :math:`\log f_t` grows by its product with :math:`v`
        per unit of :math:`t`."""
        return self.target.beta * self.target.visible_bias - self.base_visible_bias

    def log_weight_increment(self, v: Array, t_from: Array | float, t_to: Array | float) -> Array:
        r""":math:`\log f_{t_{to}}(v) - \log f_{t_{from}}(v)`."""
        v = jnp.asarray(v).astype(jnp.float32)
        hidden_input = self.hidden_input(v)
        # Unit by unit, so that the difference of two large sums is never formed.
        hidden = softplus(t_to * hidden_input) - softplus(t_from * hidden_input)
        return (t_to - t_from) * matmul(v, self.visible_gain()) + hidden.sum(-1)

    def base_sample(self, rng_key: jax.Array, sample_shape: tuple[int, ...] = ()) -> Array:
        """Exact samples of the base-rate model's visible units."""
        shape = (*sample_shape, self.target.num_visible)
        up = jax.random.bernoulli(rng_key, jax.nn.sigmoid(self.base_visible_bias), shape)
        return up.astype(jnp.int8)

    def base_log_partition(self) -> float:
        r""":math:`\log Z_0 = n_h \log 2 + \sum_i \operatorname{softplus}(a^A_i)` (float64)."""
        base = np.asarray(self.base_visible_bias, dtype=np.float64)
        return float(self.target.num_hidden * math.log(2.0) + np.logaddexp(0.0, base).sum())


def default_path(model: EnergyModel, base_visible_bias: ArrayLike | None = None):
    """:class:`BaseRatePath` for an RBM (base visible logits ``base_visible_bias``, by default
    the target's own ``beta * visible_bias``, which the path then leaves unchanged), and
    :class:`TemperaturePath` for a pairwise model."""
    if isinstance(model, RBM):
        if base_visible_bias is None:
            base = model.beta * model.visible_bias
        else:
            base = np.asarray(base_visible_bias, dtype=np.float64)
            if base.shape != (model.num_visible,):
                raise ValueError(
                    f"base_visible_bias has shape {base.shape}; the RBM has "
                    f"{model.num_visible} visible units"
                )
            if not np.all(np.isfinite(base)):
                raise ValueError("base_visible_bias must be finite")
        return BaseRatePath(model, jnp.asarray(base, dtype=jnp.float32))
    if base_visible_bias is not None:
        raise ValueError("base_visible_bias applies to an RBM only")
    if not isinstance(model, PairwiseModel):
        raise TypeError(f"AIS has no annealing path for {type(model).__name__}")
    return TemperaturePath(model)


# -- schedules --------------------------------------------------------------------------------
def schedule(kind: str | ArrayLike, num_betas: int = 1000) -> np.ndarray:
    r"""The annealing fractions :math:`0 = t_0 \le \dots \le t_K = 1`, ``float64
    [num_betas]`` (``num_betas`` points, ``num_betas - 1`` transitions).

    * ``"linear"``: evenly spaced;
    * ``"geometric"``: :math:`t_0 = 0`, then ``num_betas - 1`` points evenly spaced in
      :math:`\log t` from :math:`10^{-3}` to 1 [Neal2001]_;
    * ``"sigmoid"``: :math:`\tilde t_k = \sigma(\delta (2k/K - 1))` with :math:`\delta = 4`,
      rescaled to [0, 1] (dense at both ends) [Grosse2013]_;
    * an array: used as given after checking it.
    """
    if isinstance(kind, str):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; choose one of {SCHEDULES} or an array")
        if int(num_betas) != num_betas or num_betas < 2:
            raise ValueError(f"num_betas must be an integer >= 2, got {num_betas}")
        num_betas = int(num_betas)
        if kind == "linear":
            return np.linspace(0.0, 1.0, num_betas)
        if kind == "geometric":
            if num_betas == 2:
                return np.array([0.0, 1.0])
            return np.concatenate([[0.0], np.geomspace(1e-3, 1.0, num_betas - 1)])
        steps = 4.0 * (2.0 * np.arange(num_betas) / (num_betas - 1) - 1.0)
        raw = 1.0 / (1.0 + np.exp(-steps))
        return (raw - raw[0]) / (raw[-1] - raw[0])
    values = np.asarray(kind, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"a schedule array must be 1-D with >= 2 points, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("the schedule holds non-finite values")
    if values[0] != 0.0 or values[-1] != 1.0:
        raise ValueError(
            f"a schedule must run from 0 (base) to 1 (target); got {values[0]} ... {values[-1]}"
        )
    decreasing = np.flatnonzero(np.diff(values) < 0)
    if decreasing.size:
        i = int(decreasing[0])
        raise ValueError(
            f"the schedule decreases at index {i + 1}: t[{i}] = {values[i]} > "
            f"t[{i + 1}] = {values[i + 1]}"
        )
    return values


# -- the AIS step -----------------------------------------------------------------------------
class AISState(NamedTuple):
    """One run: ``kernel_state`` (the transition's state, with a ``position``) and
    ``log_weight`` accumulated so far (float32; :func:`run` sums chunks in float64)."""

    kernel_state: Any
    log_weight: Array


class AISInfo(NamedTuple):
    """``log_increment``: the step's :math:`\\Delta_k`."""

    log_increment: Array


def init(position: Array, path: Any, kernel_init: Callable, t: Array | float = 0.0) -> AISState:
    """A run at ``position`` with log-weight 0; ``kernel_init(position, model)`` builds the
    transition's state for the distribution at ``t`` (0 for forward AIS, 1 for reverse)."""
    return AISState(kernel_init(position, path.model_at(jnp.float32(t))), jnp.float32(0.0))


def build_kernel(kernel_step: Callable) -> Callable:
    """An AIS step from any physsamp kernel ``kernel_step(rng_key, state, model)``:
    ``step(rng_key, state, path, t_from, t_to)`` adds the increment from ``t_from`` to
    ``t_to`` at the current position, then moves with the kernel at ``t_to``."""

    def step(rng_key: jax.Array, state: AISState, path: Any, t_from: Array, t_to: Array):
        increment = path.log_weight_increment(state.kernel_state.position, t_from, t_to)
        kernel_state, _ = kernel_step(rng_key, state.kernel_state, path.model_at(t_to))
        return AISState(kernel_state, state.log_weight + increment), AISInfo(increment)

    return step


class BatchStep(NamedTuple):
    """An AIS step that moves a whole batch of runs at once (see :func:`build_lattice_kernel`,
    :func:`build_rbm_kernel`): :func:`run` calls ``step(round_keys [k, 3, runs], states,
    path, t_from, t_to)`` once per temperature, with the round keys of the hash generator
    that ``round_keys(step_key) -> [k, 3]`` derives from each run's step key, all drawn ahead
    of the loop (runs along the last axis, as the batched transitions broadcast them).
    ``round_key_words``, when given, derives the same words from threefry step keys given by
    their two words of any shape ``S`` at once, as ``[k, 3, *S]`` (no transposes)."""

    step: Callable
    round_keys: Callable
    round_key_words: Callable | None = None


class RBMAnnealState(NamedTuple):
    r"""The fused RBM transition's state: the visible units ``position`` (float32 0 or 1, as
    the matrix products read them) and ``inputs = position @ [βW | βa - a^A]``: the hidden
    units' inputs less their bias :math:`\beta b`, and in the last column the visible units'
    share of the log-weight increment per unit of :math:`t`. Kept so that a step needs two
    matrix products."""

    position: Array
    inputs: Array


def _rbm_input_weights(path: BaseRatePath) -> Array:
    """``[βW | βa - a^A]``, ``[visible, hidden + 1]``: see :class:`RBMAnnealState`."""
    weights = path.target.beta * path.target.weights
    return jnp.concatenate([weights, path.visible_gain()[:, None]], axis=1)


def _draw_units(uniform: Array, logit: Array, tail: Array) -> Array:
    r"""1.0 where ``uniform`` :math:`< \sigma(x)`, else 0.0, given ``tail`` :math:`=
    e^{-|x|}`: as :math:`u (1 + e^{-|x|}) < (1` if :math:`x \ge 0` else :math:`e^{-|x|})`,
    which needs no division and cannot overflow."""
    return (uniform * (1 + tail) < jnp.where(logit >= 0, 1.0, tail)).astype(jnp.float32)


_PRODUCT_UNITS = 64


def _softplus_gain(to: Array, start: Array, tail: Array) -> Array:
    r""":math:`\sum_j \operatorname{softplus}(s_j) - \operatorname{softplus}(r_j)` over the
    last axis, for ``to`` :math:`= s`, ``start`` :math:`= r` and ``tail`` :math:`=
    e^{-|s|}`: as

    .. math:: \sum_j \big(\max(s_j, 0) - \max(r_j, 0)\big)
       + \log \frac{\prod_j (1 + e^{-|s_j|})}{\prod_j (1 + e^{-|r_j|})},

    term by term (the difference of two large sums is never formed), with one logarithm
    for every :data:`_PRODUCT_UNITS` units instead of one per unit: each factor lies in
    :math:`[1, 2]`, so a product of 64 stays below :math:`2^{64}`. On XLA:CPU the
    logarithms were most of the cost of the increment."""
    gain = (jnp.maximum(to, 0.0) - jnp.maximum(start, 0.0)).sum(-1)
    start_tail = jnp.exp(-jnp.abs(start))
    for first in range(0, to.shape[-1], _PRODUCT_UNITS):
        units = slice(first, first + _PRODUCT_UNITS)
        numerator = jnp.prod(1 + tail[..., units], axis=-1)
        gain = gain + jnp.log(numerator / jnp.prod(1 + start_tail[..., units], axis=-1))
    return gain


def rbm_init(positions: Array, path: BaseRatePath, t: Array | float = 0.0) -> AISState:
    """A batch of runs of the fused RBM transition at visible ``positions [runs, visible]``."""
    del t
    visible = jnp.asarray(positions).astype(jnp.float32)
    weights = jnp.zeros(visible.shape[0], jnp.float32)
    return AISState(RBMAnnealState(visible, matmul(visible, _rbm_input_weights(path))), weights)


def build_rbm_kernel(num_sweeps: int = 1, generator: str = "hash") -> BatchStep:
    r"""The AIS step for :class:`BaseRatePath` with layer-wise Gibbs transitions, for a whole
    batch of runs: at :math:`t`, :math:`h_j \sim \sigma(t \beta (b_j + v^\top W_{:j}))`,
    then :math:`v_i \sim \sigma((1-t) a^A_i + t \beta (a_i + W_{i:} h))` (``num_sweeps``
    times), which leaves :math:`p_t(v, h)` and hence :math:`f_t(v)` invariant [SM2008]_.

    The layers of all runs are drawn with two matrix products per sweep; the second also
    yields the visible part of the next increment (:class:`RBMAnnealState`), and the hidden
    part shares :math:`e^{-|t x_j|}` with the hidden draw."""
    check_generator(generator)
    if generator != "hash":
        raise ValueError("the fused RBM transition draws its numbers with the hash generator")
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")

    def step(round_keys: Array, state: AISState, path: BaseRatePath, t_from, t_to):
        rbm = path.target
        num_hidden = rbm.num_hidden
        input_weights = _rbm_input_weights(path)
        visible_weights = rbm.beta * rbm.weights.T
        visible_offset = (1 - t_to) * path.base_visible_bias + t_to * rbm.beta * rbm.visible_bias
        hidden_sites = jnp.arange(num_hidden, dtype=jnp.uint32)
        visible_sites = jnp.arange(rbm.num_visible, dtype=jnp.uint32)
        keys = round_keys[..., None]  # [half-sweeps, 3, runs, 1]: one per layer update
        current = state.kernel_state
        increment = None
        for sweep in range(num_sweeps):
            hidden_input = current.inputs[:, :num_hidden] + rbm.beta * rbm.hidden_bias
            scaled = t_to * hidden_input
            tail = jnp.exp(-jnp.abs(scaled))
            if increment is None:  # log f_{t_to}(v) - log f_{t_from}(v)
                hidden_part = _softplus_gain(scaled, t_from * hidden_input, tail)
                increment = (t_to - t_from) * current.inputs[:, num_hidden] + hidden_part
            uniform = hash_uniforms(keys[2 * sweep], hidden_sites)
            hidden = _draw_units(uniform, scaled, tail)
            visible_input = visible_offset + t_to * matmul(hidden, visible_weights)
            uniform = hash_uniforms(keys[2 * sweep + 1], visible_sites)
            visible = _draw_units(uniform, visible_input, jnp.exp(-jnp.abs(visible_input)))
            current = RBMAnnealState(visible, matmul(visible, input_weights))
        return AISState(current, state.log_weight + increment), AISInfo(increment)

    return BatchStep(
        step,
        partial(_layer_round_keys, sweeps=num_sweeps),
        partial(_layer_round_key_words, sweeps=num_sweeps),
    )


def _layer_round_key_words(key: tuple[Array, Array], sweeps: int) -> Array:
    """The hash generator's round keys of every layer update of a step, for threefry step
    keys given by their words (shape ``S``): both words of each key's first ``3 * sweeps``
    Threefry blocks, ``[2 * sweeps, 3, *S]``."""
    words = [word for block in range(3 * sweeps) for word in blocks(key, block)]
    return jnp.stack(words).reshape(2 * sweeps, 3, *key[0].shape)


def _layer_round_keys(step_key: jax.Array, sweeps: int) -> Array:
    """:func:`_layer_round_key_words` of one key, ``[2 * sweeps, 3]``; for other generators,
    ``jax.random.bits``."""
    if not fused_threefry(step_key):
        return jax.random.bits(step_key, (6 * sweeps,), jnp.uint32).reshape(2 * sweeps, 3)
    return _layer_round_key_words(key_words(step_key), sweeps)


class LatticeAnnealState(NamedTuple):
    """The batched lattice transition's state: all runs in the packed checkerboard form of
    ``physsamp.kernels.block_gibbs.pack_runs`` (two ``int8 [*packed, runs]`` arrays);
    :func:`positions` unpacks them."""

    first: Array
    second: Array


def lattice_init(positions: Array, path: TemperaturePath, t: Array | float = 0.0) -> AISState:
    """A batch of runs of the batched lattice transition at ``positions [runs, sites]``."""
    del t
    colors = block_gibbs.pack_runs(positions, _lattice_target(path))
    return AISState(LatticeAnnealState(*colors), jnp.zeros(colors[0].shape[-1], jnp.float32))


def build_lattice_kernel(num_sweeps: int = 1) -> BatchStep:
    r"""The AIS step for :class:`TemperaturePath` on a periodic lattice with a uniform coupling
    (:func:`supports_lattice_kernel`), for a whole batch of runs: block Gibbs sweeps on the
    packed checkerboard with the runs along the innermost axis, each run's chain the same bit
    for bit as that of :func:`build_kernel` applied to ``block_gibbs.build_kernel(num_sweeps)``
    from the same key. The energy for the increment comes from the neighbour sums of the
    first half-sweep (see ``physsamp.kernels.block_gibbs.packed_sweeps``), and the state
    stays packed between steps."""
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")

    def step(round_keys: Array, state: AISState, path: TemperaturePath, t_from, t_to):
        target = _lattice_target(path)
        colors = (state.kernel_state.first, state.kernel_state.second)
        model = target.with_beta(t_to * target.beta)
        colors, energy = block_gibbs.sweep_runs(round_keys, colors, model)
        increment = (t_to - t_from) * (-target.beta * energy)
        return AISState(LatticeAnnealState(*colors), state.log_weight + increment), AISInfo(
            increment
        )

    return BatchStep(
        step,
        partial(block_gibbs.half_sweep_round_keys, sweeps=num_sweeps),
        partial(block_gibbs.half_sweep_round_key_words, sweeps=num_sweeps),
    )


def supports_lattice_kernel(model: EnergyModel) -> bool:
    """Whether :func:`build_lattice_kernel` applies: an Ising model on a periodic lattice with
    even extents and one coupling for every bond."""
    return isinstance(model, PairwiseModel) and model.uniform_coupling is not None


def _lattice_target(path: Any) -> PairwiseModel:
    if not isinstance(path, TemperaturePath) or not supports_lattice_kernel(path.target):
        raise TypeError(
            "the batched lattice transition needs a TemperaturePath to a periodic lattice "
            "with even extents and a uniform coupling"
        )
    return path.target  # type: ignore[return-value]


def positions(path: Any, kernel_states: Any) -> Array:
    """The configurations ``[runs, sites]`` of a batch of kernel states."""
    if isinstance(kernel_states, LatticeAnnealState):
        colors = (kernel_states.first, kernel_states.second)
        return block_gibbs.unpack_runs(colors, _lattice_target(path))
    if isinstance(kernel_states, RBMAnnealState):
        return kernel_states.position.astype(jnp.int8)
    return kernel_states.position


# -- driving many runs ------------------------------------------------------------------------
class AISRun(NamedTuple):
    """What :func:`run` returns: ``log_weights`` (float64 ``[runs]``), the final ``states``
    (batched), and at the end of every chunk the fraction reached (``checkpoints [C]``) with
    every run's log-weight there (``checkpoint_log_weights [C, runs]``)."""

    log_weights: np.ndarray
    states: AISState
    checkpoints: np.ndarray
    checkpoint_log_weights: np.ndarray


def _step_keys(key: jax.Array, first_step: Array, num_steps: int) -> Array:
    """The raw data of one run's keys for steps ``first_step, ...`` (``num_steps`` of them):
    the step number folded into the run's key, so that a step's key does not depend on how
    the schedule is chunked. Drawn in one vectorised call ahead of the loop, as raw data so
    that the loop may index them without tripping JAX's key-reuse checker."""
    steps = first_step + jnp.arange(num_steps, dtype=jnp.uint32)
    return jax.random.key_data(fold_in(key, steps))


# Two XLA:CPU settings for the chunk loop, whose time goes to long elementwise fusions (hash
# generator, exponentials) and small matrix products:
# - XLA hands reductions and elementwise fusions, not only matrix products, to YNNPACK. Here
#   those small library calls cost more than XLA's own fused loops: at 4,096 runs the RBM
#   step's reduction over the hidden units and the kernels feeding it took about 210 us a
#   step, against 44 us as one XLA fusion (benchmarks/ais_rbm_profile.py). So YNNPACK keeps
#   the matrix products only.
# - 512-bit vectors where the CPU has them (XLA prefers 256 by default, for older CPUs that
#   slow their clock on wide vectors): the unit draws run faster on an AVX-512 machine.
# Neither changes a result beyond float32 rounding.
_CPU_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
    "xla_cpu_prefer_vector_width": "512",
}


@functools.cache
def _compiler_options() -> dict[str, str]:
    """:data:`_CPU_COMPILER_OPTIONS` where this XLA knows them, else none."""
    try:
        jax.jit(lambda x: x, compiler_options=_CPU_COMPILER_OPTIONS).lower(0.0).compile()
    except Exception:  # an XLA without these options: compile as usual
        return {}
    return _CPU_COMPILER_OPTIONS


@functools.cache
def _compiled_advance() -> Callable:
    """:func:`_advance`, compiled with :func:`_compiler_options` (built on first use)."""
    return jax.jit(_advance, static_argnames=("step",), compiler_options=_compiler_options())


def _advance(keys, states, path, first_step, t_from, t_to, num_active, step):
    """Steps ``first_step, ..., first_step + num_active - 1`` of a chunk: the loop's trip count
    is an argument, so the padded last chunk reuses the compiled loop and does no work past
    the schedule's end."""
    if isinstance(step, BatchStep):
        return _advance_batch(keys, states, path, first_step, t_from, t_to, num_active, step)
    impl = jax.random.key_impl(keys)

    def one_run(key, state):
        state = state._replace(log_weight=jnp.zeros_like(state.log_weight))
        step_keys = _step_keys(key, first_step, t_from.shape[0])

        def body(i, current):
            key_step = jax.random.wrap_key_data(step_keys[i], impl=impl)
            moved, _ = step(key_step, current, path, t_from[i], t_to[i])
            return moved

        return jax.lax.fori_loop(0, num_active, body, state)

    return jax.vmap(one_run)(keys, states)


def _advance_batch(keys, states, path, first_step, t_from, t_to, num_active, step: BatchStep):
    # every round key of the chunk at once, outside the loop, with the runs innermost
    num_steps = t_from.shape[0]
    if step.round_key_words is not None and fused_threefry(keys):
        # the words of fold_in(key, step) for every step and run, [steps, runs]
        steps = first_step + jnp.arange(num_steps, dtype=jnp.uint32)
        step_keys = blocks(key_words(keys), steps[:, None])
        material = step.round_key_words(step_keys)  # [k, 3, steps, runs]

        def round_keys_at(i):
            return material[:, :, i]
    else:
        impl = jax.random.key_impl(keys)
        step_keys = jax.vmap(_step_keys, (0, None, None))(keys, first_step, num_steps)

        def round_keys_of(key_data):
            return step.round_keys(jax.random.wrap_key_data(key_data, impl=impl))

        # [steps, k, 3, runs]
        material = jax.vmap(jax.vmap(round_keys_of, out_axes=-1))(jnp.swapaxes(step_keys, 0, 1))

        def round_keys_at(i):
            return material[i]

    def body(i, current):
        moved, _ = step.step(round_keys_at(i), current, path, t_from[i], t_to[i])
        return moved

    states = states._replace(log_weight=jnp.zeros_like(states.log_weight))
    return jax.lax.fori_loop(0, num_active, body, states)


_split = jax.jit(jax.random.split, static_argnums=1)


def run(
    rng_key: jax.Array,
    path: Any,
    schedule: ArrayLike,
    states: AISState,
    step: Callable | BatchStep,
    *,
    chunk_length: int = 256,
    progress_bar: bool = False,
    description: str = "AIS",
    devices: Sequence[Any] | None = None,
) -> AISRun:
    """Anneal a batch of runs ``states`` along ``schedule`` (the fractions visited, in order:
    ``[0, ..., 1]`` forward, reversed for reverse AIS) with the AIS ``step``: a one-run step
    (``states`` with a leading run axis, mapped over runs) or a :class:`BatchStep` (``states``
    as its ``init`` builds them; ``log_weight`` is always ``[runs]``).

    The schedule runs in chunks of ``chunk_length`` steps, each one call of the same compiled
    loop (the last chunk stops early), so the result does not depend on the
    chunking, a tqdm bar can move between chunks, and schedules of any length reuse the
    compilation. Chunk sums of the log-weights are added in float64.

    With ``devices``, the runs are split evenly over them (``jax.sharding``: every array with
    a run axis is sharded along it, and XLA partitions the loop; runs never communicate), for
    several accelerators or, on a CPU, host devices made with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``. Each run makes the chain it makes
    on one device; its log-weight agrees up to float32 rounding (XLA may sum a matrix product
    in another order).
    """
    fractions = np.asarray(schedule, dtype=np.float64)
    num_steps = fractions.size - 1
    if fractions.ndim != 1 or num_steps < 1:
        raise ValueError("the schedule needs at least two points")
    if chunk_length < 1:
        raise ValueError(f"chunk_length must be >= 1, got {chunk_length}")
    chunk_length = min(int(chunk_length), 1 << (num_steps - 1).bit_length())
    num_chunks = -(-num_steps // chunk_length)
    padded = num_chunks * chunk_length
    t_from = np.full(padded, fractions[-1], dtype=np.float32)
    t_to = np.full(padded, fractions[-1], dtype=np.float32)
    t_from[:num_steps] = fractions[:-1]
    t_to[:num_steps] = fractions[1:]

    num_runs = states.log_weight.shape[0]
    keys = _split(rng_key, num_runs)
    if devices is not None:
        keys, states = _shard_runs((keys, states), list(devices), num_runs)
    total = np.zeros(num_runs, dtype=np.float64)
    checkpoints, trace = [], []
    bar = None
    if progress_bar and num_chunks > 1 and is_main_process():
        from tqdm.auto import tqdm

        bar = tqdm(total=num_steps, desc=description, unit="step")

    def collect(pending_states, end):
        nonlocal total
        total = total + host_array(pending_states.log_weight).astype(np.float64)
        checkpoints.append(fractions[min(end, num_steps)])
        trace.append(total.copy())
        if bar is not None:
            bar.update(min(end, num_steps) - bar.n)

    pending = None
    try:
        for chunk in range(num_chunks):
            window = slice(chunk * chunk_length, (chunk + 1) * chunk_length)
            first_step = np.uint32(window.start)
            num_active = np.int32(min(window.stop, num_steps) - window.start)
            states = _compiled_advance()(keys, states, path, first_step, t_from[window],
                                         t_to[window], num_active, step=step)  # fmt: skip
            # Dispatch is asynchronous: read the previous chunk while this one runs.
            if pending is not None:
                collect(*pending)
            pending = (states, window.stop)
        assert pending is not None
        collect(*pending)
    finally:
        if bar is not None:
            bar.close()
    return AISRun(total, states, np.asarray(checkpoints), np.stack(trace))


def _shard_runs(tree: Any, devices: list, num_runs: int) -> Any:
    """``tree`` placed with its run axes sharded over ``devices``: the last axis of a
    :class:`LatticeAnnealState`'s arrays, the leading axis of everything else."""
    if not devices or num_runs % len(devices):
        raise ValueError(
            f"{num_runs} runs do not split evenly over {len(devices)} devices; choose "
            "num_runs as a multiple of the number of devices"
        )
    mesh = jax.sharding.Mesh(np.array(devices), ("runs",))

    def along(axis: int) -> Callable:
        def sharding(leaf):
            spec: list[str | None] = [None] * jnp.ndim(leaf)
            spec[axis] = "runs"
            return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*spec))

        return sharding

    def of_node(node):
        return jax.tree.map(along(-1 if isinstance(node, LatticeAnnealState) else 0), node)

    shardings = jax.tree.map(
        of_node, tree, is_leaf=lambda node: isinstance(node, LatticeAnnealState)
    )
    if all(device.process_index == jax.process_index() for device in devices):
        return jax.device_put(tree, shardings)  # one call for the whole tree
    # Devices of other processes (jax.distributed): every process holds the whole batch
    # (same key, same arguments) and hands over the shards on its own devices.
    return jax.tree.map(_global_array, tree, shardings)


def _global_array(leaf: Any, sharding: jax.sharding.NamedSharding) -> jax.Array:
    """A global array from a value every process holds whole (key arrays as their data)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        data = np.asarray(jax.random.key_data(leaf))
        spec = (*sharding.spec, *([None] * (data.ndim - leaf.ndim)))
        data_sharding = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec(*spec))
        global_data = jax.make_array_from_callback(data.shape, data_sharding, data.__getitem__)
        return jax.random.wrap_key_data(global_data, impl=jax.random.key_impl(leaf))
    value = np.asarray(leaf)
    return jax.make_array_from_callback(value.shape, sharding, value.__getitem__)


# -- statistics of the weights ----------------------------------------------------------------
def log_mean_exp(log_weights: ArrayLike) -> float:
    """:math:`\\log \\frac1R \\sum_r e^{w_r}` in float64."""
    w = np.asarray(log_weights, dtype=np.float64)
    top = w.max()
    return float(top + np.log(np.mean(np.exp(w - top))))


def weight_statistics(log_weights: ArrayLike, log_base: float = 0.0) -> tuple[float, float, float]:
    r"""``(log_z, stderr, ess)`` from log-weights :math:`w_r`:
    :math:`\log \hat Z = \log Z_0 + \log \bar W`; the delta-method standard error
    :math:`\operatorname{sd}(W) / (\sqrt{R}\, \bar W)` of :math:`\log \bar W`, with
    :math:`W_r = e^{w_r - \max w}` and the sample standard deviation; the effective sample size
    :math:`(\sum W_r)^2 / \sum W_r^2` [Neal2001]_."""
    w = np.asarray(log_weights, dtype=np.float64).ravel()
    if w.size == 0:
        raise ValueError("no log-weights")
    if not np.all(np.isfinite(w)):
        raise ValueError("non-finite log-weights")
    scaled = np.exp(w - w.max())
    mean = scaled.mean()
    stderr = float(scaled.std(ddof=1) / (np.sqrt(w.size) * mean)) if w.size > 1 else math.inf
    ess = float(scaled.sum() ** 2 / (scaled**2).sum())
    return float(log_base + w.max() + np.log(mean)), stderr, ess
