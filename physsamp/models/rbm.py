"""Restricted Boltzmann machine."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from physsamp.models import _graph
from physsamp.models.base import EnergyModel, NodeLabels, binary_units, check_beta, matmul


class RBM(EnergyModel):
    r"""Restricted Boltzmann machine: binary visible units :math:`v \in \{0,1\}^{n_v}` and hidden
    units :math:`h \in \{0,1\}^{n_h}` on a complete bipartite graph,

    .. math:: E(v, h) = -v^T W h - a^T v - b^T h .

    As a distribution it is over the visible units, the hidden ones summed out:
    :math:`p(v) \propto e^{-\beta F(v)}` with the free energy
    :math:`-\beta F(v) = \beta a^T v + \sum_j \log(1 + e^{\beta (b_j + v^T W_{:j})})`.
    ``log_prob(v)`` returns that unnormalised :math:`-\beta F(v)` and ``energy(v)`` returns
    :math:`F(v)` (beta > 0). Both conditionals factorise:
    :math:`p(h_j = 1 | v) = \sigma(\beta(b_j + v^T W_{:j}))`,
    :math:`p(v_i = 1 | h) = \sigma(\beta(a_i + W_{i:} h))`.

    Example:
        >>> import numpy as np, physsamp as ps
        >>> rbm = ps.RBM(np.zeros((4, 2)), visible_bias=np.zeros(4), hidden_bias=np.zeros(2))
        >>> float(rbm.log_prob(np.zeros(4, dtype=np.int8)))  # log(2) per hidden unit
        1.3862943649291992
    """

    unit_values: ClassVar[tuple[int, int]] = (0, 1)
    support = binary_units  # type: ignore[assignment]
    pytree_data_fields = ("weights", "visible_bias", "hidden_bias", "beta")
    pytree_aux_fields = ()

    weights: Float[Array, "visible hidden"]
    visible_bias: Float[Array, " visible"]
    hidden_bias: Float[Array, " hidden"]

    def __init__(
        self,
        weights: Any,
        visible_bias: Any = 0.0,
        hidden_bias: Any = 0.0,
        beta: Any = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        traced = _graph.is_traced(weights)
        matrix = (
            jnp.asarray(weights, jnp.float32)
            if traced
            else _graph.float_array(weights, "weight matrix")
        )
        if matrix.ndim != 2 or 0 in matrix.shape:
            raise ValueError(
                f"RBM weights must be a non-empty [num_visible, num_hidden] matrix, got shape "
                f"{matrix.shape}"
            )
        _graph.check_finite(matrix, "weight matrix")
        num_visible, num_hidden = matrix.shape
        self.weights = jnp.asarray(matrix, dtype=jnp.float32)
        visible = _graph.per_item(visible_bias, num_visible, "visible bias", "visible units")
        hidden = _graph.per_item(hidden_bias, num_hidden, "hidden bias", "hidden units")
        self.visible_bias = jnp.asarray(visible, dtype=jnp.float32)
        self.hidden_bias = jnp.asarray(hidden, dtype=jnp.float32)
        self.beta = check_beta(beta)
        self.node_labels = NodeLabels([("v", i) for i in range(num_visible)])
        super().__init__(num_visible, validate_args=validate_args)

    @classmethod
    def random(
        cls,
        num_visible: int,
        num_hidden: int,
        rng_key: jax.Array,
        scale: float = 0.01,
        visible_bias: Any = 0.0,
        hidden_bias: Any = 0.0,
        beta: Any = 1.0,
    ) -> RBM:
        r"""A starting point for training: weights drawn from :math:`N(0, \text{scale}^2)`
        (Hinton, *A practical guide to training restricted Boltzmann machines*, 2010, uses
        scale 0.01), the given biases.

        Example:
            >>> import jax, physsamp as ps
            >>> ps.RBM.random(64, 16, jax.random.key(0)).weights.shape
            (64, 16)
        """
        for name, count in (("num_visible", num_visible), ("num_hidden", num_hidden)):
            if int(count) != count or count < 1:
                raise ValueError(f"{name} must be a positive integer, got {count!r}")
        weights = scale * jax.random.normal(rng_key, (int(num_visible), int(num_hidden)))
        return cls(np.asarray(weights), visible_bias, hidden_bias, beta)

    parameter_fields: ClassVar[tuple[str, ...]] = (
        "beta",
        "weights",
        "visible_bias",
        "hidden_bias",
    )

    def tilted(self, log_field: ArrayLike) -> RBM:
        scale = self._tilt_scale()
        other = copy.copy(self)
        other.beta = scale
        other.visible_bias = self.visible_bias + jnp.asarray(log_field, jnp.float32) / scale
        return other

    @property
    def num_visible(self) -> int:
        return self.weights.shape[0]

    @property
    def num_hidden(self) -> int:
        return self.weights.shape[1]

    def joint_energy(self, visible: ArrayLike, hidden: ArrayLike) -> Float[Array, "..."]:
        """:math:`E(v, h) = -v^T W h - a^T v - b^T h`."""
        v = jnp.asarray(visible).astype(jnp.float32)
        h = jnp.asarray(hidden).astype(jnp.float32)
        return (
            -(matmul(v, self.weights) * h).sum(-1)
            - matmul(v, self.visible_bias)
            - matmul(h, self.hidden_bias)
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        """Unnormalised :math:`-\\beta F(v)` (no partition function); ``-inf`` for visible
        units outside {0, 1} (see :meth:`~physsamp.models.base.EnergyModel.log_prob`)."""
        return super().log_prob(value)

    def unnormalized_log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        """:math:`-\\beta F(v)` without checks (differentiable in the parameters)."""
        v = jnp.asarray(value).astype(jnp.float32)
        hidden_input = self.beta * (matmul(v, self.weights) + self.hidden_bias)
        return self.beta * matmul(v, self.visible_bias) + jax.nn.softplus(hidden_input).sum(-1)

    def energy(self, x: ArrayLike) -> Float[Array, "..."]:
        """The free energy :math:`F(v) = -\\log p^*(v) / \\beta` (needs beta > 0); ``+inf``
        for visible units outside {0, 1}."""
        return super().energy(x)

    def unchecked_energy(self, x: ArrayLike) -> Float[Array, "..."]:
        """:meth:`energy` without the support test."""
        return -self.unnormalized_log_prob(x) / self.beta

    def hidden_given_visible(self, visible: ArrayLike) -> Float[Array, "... hidden"]:
        """:math:`p(h_j = 1 | v)` for every hidden unit."""
        v = jnp.asarray(visible).astype(jnp.float32)
        return jax.nn.sigmoid(self.beta * (matmul(v, self.weights) + self.hidden_bias))

    def visible_given_hidden(self, hidden: ArrayLike) -> Float[Array, "... visible"]:
        """:math:`p(v_i = 1 | h)` for every visible unit."""
        h = jnp.asarray(hidden).astype(jnp.float32)
        return jax.nn.sigmoid(self.beta * (matmul(h, self.weights.T) + self.visible_bias))

    def transposed(self) -> RBM:
        """The same machine with the roles of the layers exchanged (a distribution over the
        hidden units)."""
        return RBM(self.weights.T, self.hidden_bias, self.visible_bias, self.beta)
