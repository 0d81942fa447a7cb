"""The base class shared by every physsamp model."""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Float
from numpyro.distributions import Distribution, constraints


class _Spin(constraints._SingletonConstraint):
    """Values in {-1, +1}."""

    is_discrete = True

    def __call__(self, x):
        return (x == -1) | (x == 1)

    def feasible_like(self, prototype):
        return jnp.ones_like(prototype)

    def tree_flatten(self):
        return (), ((), {})


spin = _Spin()
spins = constraints.independent(spin, 1)
binary_units = constraints.independent(constraints.boolean, 1)


class NodeLabels:
    """The graph's node labels. Models with equal labels share jit cache entries; the hash is
    computed once, and the same object compares equal at once, so passing a model with a
    million sites to a jitted function costs nothing per call."""

    __slots__ = ("_hash", "labels")

    def __init__(self, labels: Sequence[Hashable]):
        self.labels = tuple(labels)
        self._hash = hash(self.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, NodeLabels) or self._hash != other._hash:
            return False
        return self.labels == other.labels


def matmul(a: ArrayLike, b: ArrayLike) -> Array:
    """``a @ b`` computed in full float32 on every backend. XLA's default precision for float32
    products is lower on accelerators (TensorFloat-32, 10 bits of mantissa, on recent NVIDIA
    GPUs; bfloat16 passes on TPUs), which would put an energy, a local field or an AIS
    log-weight increment off in its fourth digit; on a CPU the two are the same."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


def check_beta(beta: Any) -> jax.Array:
    """Validate an inverse temperature (when it is concrete) and return it as a float array."""
    if isinstance(beta, Tracer):
        return beta
    value = np.asarray(beta, dtype=np.float64)
    if value.shape != ():
        raise ValueError(f"beta must be a scalar, got an array of shape {value.shape}")
    if not np.isfinite(value):
        raise ValueError(f"beta must be finite, got {float(value)}")
    if value < 0:
        raise ValueError(f"beta must be non-negative, got {float(value)}")
    return jnp.asarray(value, dtype=jnp.float32)


class EnergyModel(Distribution):
    r"""An energy-based model over ``num_sites`` discrete units, and a NumPyro distribution.

    Its density is :math:`p(x) \propto \exp(-\beta E(x))`. ``log_prob`` returns the
    *unnormalised* :math:`-\beta E(x)`: the partition function is not included (see
    :mod:`physsamp.exact` and :func:`physsamp.infer.ais_log_partition` for it). A model cannot
    draw exact samples; ``sample`` raises, and the kernels of :mod:`physsamp.infer` sample it.
    """

    arg_constraints: ClassVar[dict] = {}
    #: the two values a unit takes, "down" first
    unit_values: ClassVar[tuple[int, int]] = (-1, 1)
    pytree_aux_fields = ("num_sites", "node_labels")

    num_sites: int
    node_labels: NodeLabels
    beta: Float[Array, ""]

    def __init__(self, num_sites: int, validate_args: bool | None = None):
        self.num_sites = int(num_sites)
        super().__init__(batch_shape=(), event_shape=(self.num_sites,), validate_args=validate_args)

    # -- physics -------------------------------------------------------------------------------
    def energy(self, x: ArrayLike) -> Float[Array, "..."]:
        """The energy of configurations ``x [..., num_sites]``."""
        raise NotImplementedError

    def with_beta(self, beta: ArrayLike):
        """The same model at another inverse temperature. Nothing is rebuilt and, since beta is
        a leaf of the pytree, jitted functions of the model do not recompile."""
        other = copy.copy(self)
        other.beta = check_beta(beta)
        return other

    # -- sites and nodes -----------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[Hashable, ...]:
        """The node label of every site, in site order."""
        return self.node_labels.labels

    def by_node(self, x: ArrayLike) -> dict[Hashable, Any]:
        """A configuration ``x [num_sites]`` as a dict from node label to value."""
        values = np.asarray(x)
        if values.shape[-1:] != (self.num_sites,):
            raise ValueError(f"expected a last axis of {self.num_sites} sites, got {values.shape}")
        return dict(zip(self.nodes, values.T, strict=True))

    def uniform_configuration(self, rng_key: jax.Array, sample_shape: tuple[int, ...] = ()):
        """Independent uniform units: the exact distribution at beta = 0."""
        up = jax.random.bernoulli(rng_key, 0.5, (*sample_shape, self.num_sites))
        down_value, up_value = self.unit_values
        return jnp.where(up, up_value, down_value).astype(jnp.int8)

    # -- NumPyro distribution ------------------------------------------------------------------
    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        """Unnormalised log density ``-beta * energy(value)`` (no partition function)."""
        if self._validate_args:
            self.check_values(value)
        return -self.beta * self.energy(value)

    def check_values(self, value: ArrayLike) -> None:
        """Raise ``ValueError`` for a concrete ``value`` outside the support or of a wrong
        shape."""
        if isinstance(value, Tracer):
            return
        array = np.asarray(value)
        if array.shape[-1:] != (self.num_sites,):
            raise ValueError(
                f"{type(self).__name__} has {self.num_sites} sites, got values of shape "
                f"{array.shape}"
            )
        bad = np.argwhere(~np.isin(array, self.unit_values))
        if bad.size:
            position = tuple(int(i) for i in bad[0])
            raise ValueError(
                f"value {array[position]} at index {position} is outside the support "
                f"{self.unit_values} of {type(self).__name__}"
            )

    def sample(self, key, sample_shape=()):
        raise NotImplementedError(
            f"{type(self).__name__} cannot draw exact samples. Sample it with a physsamp kernel "
            "(physsamp.infer.BlockGibbs, SwendsenWang, ...) inside numpyro.infer.MCMC; "
            "Predictive and prior sampling of a physsamp site are not defined."
        )

    def enumerate_support(self, expand=True):
        raise NotImplementedError("use physsamp.exact to enumerate a small model")
