"""Exact answers for small models by enumeration, in log space and float64.

The oracle for tests and for users: :func:`log_partition`, :func:`probabilities`,
:func:`expectation`, :func:`marginals`, and :func:`ground_state` to check searches for the
lowest energy. States are enumerated in chunks so memory stays bounded; models up to
:data:`MAX_SITES` enumerated units are accepted. For an RBM the smaller layer is enumerated and
the other is summed out analytically (or, for the ground state, minimised unit by unit).

**State order.** :func:`states` and :func:`probabilities` list the configurations of
``num_sites`` units in lexicographic order of ``(x_0, x_1, ..., x_{N-1})`` with "down" before
"up" (as ``itertools.product([down, up], repeat=N)``): state ``k`` has site ``i`` up iff bit
``N - 1 - i`` of ``k`` is set. :func:`state_index` maps configurations to that index.

Example:
    >>> import networkx as nx, physsamp as ps
    >>> model = ps.Ising(nx.path_graph(2), coupling=1.0, beta=0.5)
    >>> round(ps.exact.log_partition(model), 6)  # log(2 e^0.5 + 2 e^-0.5)
    1.506409
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import Distribution

from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

#: the largest number of enumerated units accepted
MAX_SITES = 24
_CHUNK_BITS = 16


def _check_size(num_units: int, what: str) -> None:
    if num_units > MAX_SITES:
        raise ValueError(
            f"exact enumeration of {num_units} {what} would visit 2^{num_units} states; "
            f"physsamp.exact handles at most {MAX_SITES}. Use physsamp.infer.ais_log_partition "
            "for larger models."
        )


def _bits(indices: np.ndarray, num_units: int) -> np.ndarray:
    shifts = np.arange(num_units - 1, -1, -1, dtype=np.int64)
    return ((indices[:, None] >> shifts) & 1).astype(np.int8)


def states(model: EnergyModel) -> np.ndarray:
    """Every configuration of the model's sites, ``int8 [2^N, N]``, in the documented order."""
    _check_size(model.num_sites, "sites")
    return _to_units(model, _bits(np.arange(2**model.num_sites), model.num_sites))


def state_index(model: EnergyModel, x: Any) -> np.ndarray:
    """The index in :func:`states` order of configurations ``x [..., N]``; ``ValueError`` for
    a unit outside the model's support."""
    values = np.asarray(x)
    model.check_values(values)
    up = (values == model.unit_values[1]).astype(np.int64)
    weights = 2 ** np.arange(model.num_sites - 1, -1, -1, dtype=np.int64)
    return up @ weights


def _to_units(model: EnergyModel, bits: np.ndarray) -> np.ndarray:
    down, up = model.unit_values
    return np.where(bits == 1, up, down).astype(np.int8)


def _chunks(num_units: int) -> Iterator[np.ndarray]:
    total = 2**num_units
    size = 2 ** min(_CHUNK_BITS, num_units)
    for start in range(0, total, size):
        yield _bits(np.arange(start, min(start + size, total), dtype=np.int64), num_units)


def _log_weights(model: EnergyModel, x: np.ndarray) -> np.ndarray:
    """Unnormalised log probability of configurations ``x [M, N]`` in float64."""
    beta = float(model.beta)
    values = x.astype(np.float64)
    if isinstance(model, PairwiseModel):
        edges = np.asarray(model.edges)
        couplings = np.asarray(model.edge_couplings, dtype=np.float64)
        field = np.asarray(model.field, dtype=np.float64)
        energy = -((values[:, edges[:, 0]] * values[:, edges[:, 1]]) @ couplings) - values @ field
        return -beta * energy
    if isinstance(model, RBM):
        weights = np.asarray(model.weights, dtype=np.float64)
        visible_bias = np.asarray(model.visible_bias, dtype=np.float64)
        hidden_bias = np.asarray(model.hidden_bias, dtype=np.float64)
        hidden_input = beta * (values @ weights + hidden_bias)
        return beta * (values @ visible_bias) + np.logaddexp(0.0, hidden_input).sum(axis=1)
    raise TypeError(f"no exact enumeration for {type(model).__name__}")


def _logsumexp(values: np.ndarray) -> float:
    top = values.max()
    return float(top + np.log(np.exp(values - top).sum()))


def log_partition(model: EnergyModel) -> float:
    r""":math:`\log Z = \log \sum_x e^{-\beta E(x)}` by enumeration.

    For an RBM the smaller layer is enumerated: with the hidden layer the smaller one,
    :math:`\log Z = \log \sum_h e^{\beta b^T h} \prod_i (1 + e^{\beta(a_i + W_{i:} h)})`.
    """
    if isinstance(model, RBM) and model.num_hidden < model.num_visible:
        model = model.transposed()
    _check_size(model.num_sites, "sites")
    partial_sums = [
        _logsumexp(_log_weights(model, _to_units(model, bits))) for bits in _chunks(model.num_sites)
    ]
    return _logsumexp(np.array(partial_sums))


def probabilities(model: EnergyModel) -> np.ndarray:
    """The probability of every configuration, ``float64 [2^N]``, in :func:`states` order."""
    _check_size(model.num_sites, "sites")
    log_z = log_partition(model)
    return np.concatenate(
        [np.exp(_log_weights(model, _to_units(model, b)) - log_z) for b in _chunks(model.num_sites)]
    )


def expectation(model: EnergyModel, fn: Callable[[np.ndarray], Any]) -> np.ndarray:
    r""":math:`\mathbb{E}[f(x)]` by enumeration. ``fn`` maps a batch of configurations
    ``int8 [M, N]`` to an array ``[M, ...]`` (numpy or jax)."""
    _check_size(model.num_sites, "sites")
    log_z = log_partition(model)
    total: Any = 0.0
    for bits in _chunks(model.num_sites):
        x = _to_units(model, bits)
        weights = np.exp(_log_weights(model, x) - log_z)
        values = np.asarray(fn(x), dtype=np.float64)
        total = total + np.tensordot(weights, values, axes=(0, 0))
    return np.asarray(total)


def marginals(model: EnergyModel) -> np.ndarray:
    """The probability that each site is "up", ``float64 [N]``."""
    up = model.unit_values[1]
    return expectation(model, lambda x: (x == up).astype(np.float64))


def mean_energy(model: EnergyModel) -> float:
    """:math:`\\langle E \\rangle` by enumeration (for an RBM, of the free energy F(v))."""
    beta = float(model.beta)
    if beta == 0:
        raise ValueError("mean_energy needs beta > 0 (it is computed from log weights / beta)")
    return float(expectation(model, lambda x: -_log_weights(model, x) / beta))


#: the largest model :func:`normalized` enumerates (2^16 states per evaluation)
MAX_NORMALIZED_SITES = 16


class ExactlyNormalized(Distribution):
    r"""A small physsamp model with its exact partition function: ``log_prob`` is
    :math:`-\beta E(x) - \log Z`, with :math:`\log Z` summed over every state in JAX, so
    that it is differentiable in beta, the couplings and the fields. Built by
    :func:`normalized`."""

    def __init__(self, model: EnergyModel, validate_args: bool | None = None):
        _check_size(model.num_sites, "sites")
        if model.num_sites > MAX_NORMALIZED_SITES:
            raise ValueError(
                f"normalized() sums 2^N states at every evaluation; {model.num_sites} sites "
                f"exceed its limit of {MAX_NORMALIZED_SITES}: use physsamp.infer.Exchange"
            )
        self.model = model
        self._states = jnp.asarray(states(model))
        super().__init__(batch_shape=(), event_shape=(model.num_sites,),
                         validate_args=validate_args)  # fmt: skip

    @property
    def support(self):  # type: ignore[override]
        return self.model.support

    def log_partition(self) -> jax.Array:
        return jax.nn.logsumexp(self.model.unnormalized_log_prob(self._states))

    def log_prob(self, value: Any) -> jax.Array:
        """:math:`-\\beta E(x) - \\log Z`; ``-inf`` outside the support, as the model's own
        :meth:`~physsamp.models.base.EnergyModel.log_prob`."""
        if self._validate_args:
            self.model.check_values(value)
        values = self.model._with_sites(value)
        log_prob = self.model.unnormalized_log_prob(values) - self.log_partition()
        return jnp.where(self.model.in_support(values), log_prob, -jnp.inf)

    def sample(self, key: jax.Array, sample_shape: tuple[int, ...] = ()) -> jax.Array:
        """Exact draws: states picked with their probabilities."""
        logits = self.model.unnormalized_log_prob(self._states)
        index = jax.random.categorical(key, logits, shape=tuple(sample_shape))
        return self._states[index]


def normalized(model: EnergyModel) -> ExactlyNormalized:
    """``model`` as a NumPyro distribution with its exact log partition function, for models
    of up to :data:`MAX_NORMALIZED_SITES` units whose parameters are random: NUTS then samples
    the exact posterior of beta, couplings or fields (the physsamp model's own ``log_prob``
    leaves log Z out and refuses gradients). It also draws exact samples.

    In a NumPyro model, ``numpyro.sample("spins", ps.exact.normalized(lattice), obs=x)`` with
    ``beta`` a latent site, sampled by ``MCMC(NUTS(model))``: NUTS follows the gradient of the
    log-likelihood below.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> x = np.ones((5, 9), np.int8)  # five aligned configurations of a 3 x 3 lattice
        >>> def log_likelihood(beta):
        ...     lattice = ps.Ising.lattice((3, 3), beta=beta)
        ...     return ps.exact.normalized(lattice).log_prob(x).sum()
        >>> bool(jax.grad(log_likelihood)(0.3) > 0)  # aligned spins favour a larger beta
        True
    """
    return ExactlyNormalized(model)


class GroundState(NamedTuple):
    """A configuration of lowest energy, as found by :func:`ground_state` (here, by
    enumeration) or :func:`physsamp.lattice_exact.ground_state` (by a transfer matrix).

    ``energy`` is the lowest energy in the model's units (:math:`E(x)`, no beta), a float64
    computed from ``configuration``; ``configuration`` is one configuration with that energy,
    ``int8`` in the model's unit values; ``degeneracy`` is the number of configurations whose
    energy lies within the tolerance of the finder (the two of a ferromagnet in zero field),
    or ``None`` where it could not be counted.

    Example:
        >>> import numpy as np
        >>> print(GroundState(-4.0, np.ones(4, np.int8), 2))
        ground state: energy -4, degeneracy 2, 4 units
    """

    energy: float
    configuration: np.ndarray
    degeneracy: int | None

    def __str__(self) -> str:
        count = "unknown" if self.degeneracy is None else str(self.degeneracy)
        return (
            f"ground state: energy {self.energy:.10g}, degeneracy {count}, "
            f"{self.configuration.size} units"
        )


def ground_state(model: EnergyModel) -> GroundState:
    r"""The lowest energy of a small model, one configuration that has it and how many do, by
    enumeration in float64 (chunks of 2^16 states, so memory stays bounded).

    For an Ising model or a Boltzmann machine every configuration of the ``num_sites`` units
    is visited (up to :data:`MAX_SITES`) and the energy is ``model.energy(x)``. The
    degeneracy counts the configurations whose energy is within ``1e-6 * (1 + |E|)`` of the
    lowest energy ``E``.

    For an RBM the energy minimised is the joint energy :math:`E(v, h)` of
    :meth:`~physsamp.RBM.joint_energy` over visible and hidden units, not the free energy
    ``model.energy(v)``, which depends on beta (its zero-temperature limit
    :math:`\min_h E(v, h)` has the same minimum). As for :func:`log_partition`, only the
    smaller layer is enumerated (up to :data:`MAX_SITES` units); the other is set unit by
    unit, on where its input is positive. The configuration is then the visible units
    followed by the hidden ones, ``[num_visible + num_hidden]``. A unit of the other layer
    whose input is zero to within the tolerance doubles the count (exact unless several such
    inputs are non-zero but together exceed the tolerance).

    Example:
        >>> import networkx as nx, physsamp as ps
        >>> result = ps.exact.ground_state(ps.Ising(nx.cycle_graph(5), coupling=-1.0))
        >>> result.energy  # an odd antiferromagnetic ring frustrates one bond
        -3.0
        >>> result.degeneracy  # 5 places for the broken bond, times the global flip
        10
    """
    if isinstance(model, RBM):
        return _rbm_ground_state(model)
    if not isinstance(model, PairwiseModel):
        raise TypeError(f"no exact ground state for {type(model).__name__}")
    _check_size(model.num_sites, "sites")
    edges = np.asarray(model.edges)
    upper = np.zeros((model.num_sites, model.num_sites))
    np.add.at(upper, (edges.min(axis=1), edges.max(axis=1)), np.asarray(model.edge_couplings))
    field = np.asarray(model.field, dtype=np.float64)
    num_fixed, low_bits = _split(model.num_sites)
    low = _to_units(model, low_bits).astype(np.float64)
    # E = E(fixed units) + E(running units) + their couplings: only the last is per chunk
    low_energies = _pairwise_energies(low, upper[num_fixed:, num_fixed:], field[num_fixed:])

    def energies(fixed_bits: np.ndarray) -> np.ndarray:
        fixed = _to_units(model, fixed_bits).astype(np.float64)
        fixed_energy = _pairwise_energies(
            fixed[None], upper[:num_fixed, :num_fixed], field[:num_fixed]
        )
        return low_energies + fixed_energy - low @ (fixed @ upper[:num_fixed, num_fixed:])

    energy, bits, degeneracy = _lowest(num_fixed, low_bits, energies, _count_at_most(energies))
    return GroundState(energy, _to_units(model, bits), degeneracy)


def _pairwise_energies(values: np.ndarray, upper: np.ndarray, field: np.ndarray) -> np.ndarray:
    r""":math:`-\sum_{i<j} J_{ij} x_i x_j - h^T x` of ``values [M, n]`` with the couplings in
    the upper triangle of ``upper``."""
    return -np.einsum("mi,mi->m", values @ upper, values) - values @ field


def _split(num_units: int, running_bits: int = _CHUNK_BITS) -> tuple[int, np.ndarray]:
    """Enumeration in chunks: the first units fixed to the bits of the chunk's number, the last
    ``running_bits`` running over all their states (so chunks follow :func:`states` order).
    Returns the number of fixed units and the bits of the running ones, ``int8 [2^b, b]``."""
    running = min(running_bits, num_units)
    return num_units - running, _bits(np.arange(2**running, dtype=np.int64), running)


def _count_at_most(
    energies: Callable[[np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, float], float]:
    def count(fixed_bits: np.ndarray, threshold: float) -> float:
        return float(np.count_nonzero(energies(fixed_bits) <= threshold))

    return count


def _lowest(
    num_fixed: int,
    low_bits: np.ndarray,
    energies: Callable[[np.ndarray], np.ndarray],
    count: Callable[[np.ndarray, float], float],
) -> tuple[float, np.ndarray, int]:
    """The lowest energy over every chunk, the bits of one state that has it, and how many
    states lie within ``1e-6 * (1 + |E|)`` of it. ``energies(fixed_bits)`` gives the energies
    of a chunk's ``2^b`` states; ``count(fixed_bits, threshold)`` how many are at most
    ``threshold``. The count is a second pass, since the tolerance depends on the minimum;
    it visits only the chunks that reach below the threshold (usually one or two)."""
    fixed_bits = _bits(np.arange(2**num_fixed, dtype=np.int64), num_fixed)
    chunk_lowest = np.empty(len(fixed_bits))
    best_energy, best_bits = np.inf, np.zeros(0, np.int8)
    for chunk, fixed in enumerate(fixed_bits):
        chunk_energies = energies(fixed)
        index = int(np.argmin(chunk_energies))
        chunk_lowest[chunk] = chunk_energies[index]
        if chunk_energies[index] < best_energy:
            best_energy = float(chunk_energies[index])
            best_bits = np.concatenate([fixed, low_bits[index]])
    threshold = best_energy + 1e-6 * (1.0 + abs(best_energy))
    total = sum(
        count(fixed_bits[chunk], threshold) for chunk in np.flatnonzero(chunk_lowest <= threshold)
    )
    return best_energy + 0.0, best_bits, int(total)


def _rbm_ground_state(model: RBM) -> GroundState:
    """:func:`ground_state` of an RBM: the smaller layer enumerated, the other set by sign."""
    weights = np.asarray(model.weights, dtype=np.float64)
    visible_bias = np.asarray(model.visible_bias, dtype=np.float64)
    hidden_bias = np.asarray(model.hidden_bias, dtype=np.float64)
    hidden_first = model.num_hidden < model.num_visible
    if hidden_first:  # enumerate the hidden layer, set the visible one
        weights, own_bias, other_bias = weights.T, hidden_bias, visible_bias
    else:
        own_bias, other_bias = visible_bias, hidden_bias
    num_units = weights.shape[0]
    _check_size(num_units, "units in the smaller layer of the RBM")
    # the inputs of a chunk, [2^b, other layer], in at most 2^22 numbers (32 MiB)
    running_bits = max(_CHUNK_BITS + 6 - max(int(np.ceil(np.log2(weights.shape[1]))), 6), 0)
    num_fixed, low_bits = _split(num_units, running_bits)
    low = low_bits.astype(np.float64)
    low_own = low @ own_bias[num_fixed:]
    low_input = low @ weights[num_fixed:]

    def inputs(fixed_bits: np.ndarray) -> np.ndarray:
        fixed = fixed_bits.astype(np.float64)
        return low_input + (fixed @ weights[:num_fixed] + other_bias)

    def energies(fixed_bits: np.ndarray) -> np.ndarray:
        own = low_own + fixed_bits.astype(np.float64) @ own_bias[:num_fixed]
        return -own - np.maximum(inputs(fixed_bits), 0.0).sum(axis=1)

    def count(fixed_bits: np.ndarray, threshold: float) -> float:
        chunk_energies = energies(fixed_bits)
        near = chunk_energies <= threshold
        slack = threshold - chunk_energies[near]
        free_units = np.count_nonzero(np.abs(inputs(fixed_bits)[near]) <= slack[:, None], axis=1)
        return float(np.sum(2.0**free_units))

    _, bits, degeneracy = _lowest(num_fixed, low_bits, energies, count)
    other = (bits.astype(np.float64) @ weights + other_bias > 0).astype(np.int8)
    visible, hidden = (other, bits) if hidden_first else (bits, other)
    joint = -(visible @ np.asarray(model.weights, np.float64) @ hidden)
    joint -= visible @ visible_bias
    joint -= hidden @ hidden_bias
    return GroundState(float(joint) + 0.0, np.concatenate([visible, hidden]), degeneracy)
