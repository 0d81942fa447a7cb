"""The base class shared by every physsamp model."""

from __future__ import annotations

import copy
import sys
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike, Bool, Float
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
    if isinstance(beta, str | bytes):
        raise TypeError(f"beta must be a number, got the string {beta!r}")
    try:
        value = np.asarray(beta)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"not a real number: {value.dtype}")
        value = value.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"beta must be a number, got {beta!r}") from error
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
        r"""The energy of configurations ``x [..., num_sites]``.

        A configuration with a unit outside :attr:`unit_values` (a 0 among Ising spins, a 0.5
        among binary units) has energy ``+inf``, the energy of a state of probability zero
        (:math:`e^{-\beta E} = 0`), also under ``jax.jit`` and ``jax.vmap`` where the values
        cannot be looked at; a last axis of the wrong length raises ``ValueError``."""
        values = self._with_sites(x)
        return jnp.where(self.in_support(values), self.unchecked_energy(values), jnp.inf)

    def unchecked_energy(self, x: ArrayLike) -> Float[Array, "..."]:
        """:meth:`energy` without the support test, for callers whose configurations are valid
        by construction (a kernel's own states); a value outside the support gives a finite
        number that means nothing."""
        raise NotImplementedError

    def in_support(self, x: ArrayLike) -> Bool[Array, "..."]:
        """Whether every unit of each configuration ``x [..., num_sites]`` is one of
        :attr:`unit_values` (traceable: an elementwise test)."""
        values = jnp.asarray(x)
        down, up = self.unit_values
        return jnp.all((values == down) | (values == up), axis=-1)

    def _with_sites(self, x: ArrayLike) -> Array:
        """``x`` as an array, after checking that its last axis has one entry per site (shapes
        are known while tracing, so this holds under ``jit`` too)."""
        values = jnp.asarray(x)
        if values.shape[-1:] != (self.num_sites,):
            raise ValueError(
                f"{type(self).__name__} has {self.num_sites} sites, got values of shape "
                f"{values.shape}"
            )
        return values

    def tilted(self, log_field: ArrayLike):
        r"""The model times :math:`e^{\sum_i \phi_i x_i}` for ``log_field`` :math:`\phi`
        ``[num_sites]``: the same kind of model, with :math:`\phi / \beta` added to its
        per-site field. It is how a likelihood whose terms each depend on one unit enters a
        sampler: the conditional of the units given the data is the tilted prior. Tempering it
        (``with_beta``) then tempers the likelihood along with the prior. A beta of zero is
        replaced by the smallest positive float32 that keeps ``phi / beta`` finite (1e-30):
        the couplings then contribute nothing in float32 and the field is exactly ``phi``.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot take a per-site log field")

    def _tilt_scale(self) -> jax.Array:
        return jnp.maximum(self.beta, TILT_MIN_BETA)

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
        """Unnormalised log density ``-beta * energy(value)`` (no partition function).

        A configuration outside the support gets ``-inf``, NumPyro's convention, whether or
        not ``validate_args`` is set and also under ``jax.jit`` and ``jax.vmap``; with
        ``validate_args`` (NumPyro's default) a concrete one raises ``ValueError`` naming the
        first bad unit instead.

        Raises ``ValueError`` when a gradient is being taken with respect to the model's
        parameters (NUTS, HMC, SVI on a random beta, coupling or field): the missing log
        partition function depends on them, so such a posterior would be silently wrong. Use
        :class:`physsamp.infer.Exchange` for them, or :func:`physsamp.exact.normalized`
        for an enumerable model."""
        if self._validate_args:
            self.check_values(value)
        self.refuse_differentiated_parameters()
        values = self._with_sites(value)
        return jnp.where(self.in_support(values), self.unnormalized_log_prob(values), -jnp.inf)

    def unnormalized_log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        """``-beta * energy(value)``, without checks (differentiable in the parameters; a
        value outside the support gives a finite number that means nothing)."""
        return -self.beta * self.unchecked_energy(value)

    #: names of the pytree fields that are parameters (checked by ``log_prob``)
    parameter_fields: ClassVar[tuple[str, ...]] = ("beta",)

    def refuse_differentiated_parameters(self) -> None:
        """Raise if a parameter carries a derivative (see :meth:`log_prob`)."""
        for field in self.parameter_fields:
            value = getattr(self, field, None)
            if value is not None and _differentiated(value):
                site = _site_name_of(self)
                where = f"physsamp site {site!r}" if site else f"a physsamp {type(self).__name__}"
                raise ValueError(
                    f"the {field} of {where} is a random variable sampled by a gradient-based "
                    "algorithm (NUTS, HMC, SVI, ...), but its log_prob leaves out the partition "
                    f"function, which depends on {field}: the result would be silently wrong "
                    "(a doubly intractable model). Sample it with physsamp.infer.Exchange, e.g. "
                    "numpyro.infer.Gibbs([(physsamp.infer.Exchange(model), ['<parameter "
                    "site>']), ...]), or, for a model small enough to enumerate, use "
                    "physsamp.exact.normalized(model) as the site's distribution"
                )

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
        """Not a sample: raises, except while a NumPyro tool traces the model only to learn
        its structure or to initialise it (``numpyro.infer.Gibbs``'s prototype trace, ArviZ's
        conversion), where it returns independent uniform units (the exact distribution at
        beta = 0), which the physsamp kernel then replaces by its own draws."""
        if _initialising_trace():
            key = jax.random.key(0) if key is None else key
            return self.uniform_configuration(key, tuple(sample_shape))
        raise NotImplementedError(
            f"{type(self).__name__} cannot draw exact samples. Sample it with a physsamp kernel "
            "(physsamp.infer.BlockGibbs, SwendsenWang, ...) inside numpyro.infer.MCMC; "
            "Predictive and prior sampling of a physsamp site are not defined. With other "
            "latent sites beside it, compose kernels: numpyro.infer.Gibbs([(physsamp.infer."
            "BlockGibbs(model), ['spins']), (numpyro.infer.NUTS(model), None)])"
        )

    def enumerate_support(self, expand=True):
        raise NotImplementedError("use physsamp.exact to enumerate a small model")


#: the smallest beta by which a log field is divided in :meth:`EnergyModel.tilted`
TILT_MIN_BETA = 1e-30

#: callers whose traces of a model only initialise it or read its structure: (module, function)
_INITIALISING_CALLERS = frozenset(
    {
        ("numpyro.infer.gibbs", "prototype_trace"),
        ("numpyro.infer.inspect", "get_model_relations"),
        ("numpyro.infer.inspect", "get_dependencies"),
        ("arviz.data.io_numpyro", "__init__"),
        ("arviz_base.io_numpyro", "__init__"),
    }
)


def _initialising_trace(depth: int = 40) -> bool:
    """Whether the current call comes from one of :data:`_INITIALISING_CALLERS`. A frame walk
    is the one place where a distribution can tell an initialising trace (whose value is
    replaced before any use) from ``Predictive`` (whose value would be taken for a sample)."""
    frame = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return False
        if (frame.f_globals.get("__name__"), frame.f_code.co_name) in _INITIALISING_CALLERS:
            return True
        frame = frame.f_back
    return False


def _differentiated(value: Any) -> bool:
    """Whether a (possibly batched) value carries a forward- or reverse-mode derivative."""
    while isinstance(value, Tracer):
        if type(value).__name__ in ("JVPTracer", "LinearizeTracer"):
            return True
        value = getattr(value, "val", None)  # a BatchTracer's batched value
    return False


def _site_name_of(model: EnergyModel, depth: int = 12) -> str | None:
    """The name of the NumPyro site whose distribution is ``model``, read from the calling
    frames (``numpyro.infer.util.log_density`` holds it as ``site``), for error messages."""
    frame = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return None
        site = frame.f_locals.get("site")
        if isinstance(site, dict) and site.get("fn") is model:
            return site.get("name")
        frame = frame.f_back
    return None
