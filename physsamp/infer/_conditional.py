r"""The conditional of a model's physsamp sites given every other site of a NumPyro model.

A site that depends on the units :math:`x` of a physsamp site (observed data, or a latent
site that another kernel samples) multiplies the prior :math:`e^{-\beta E(x)}` by its density.
When every element of that density depends on one unit only, as in
``y ~ Normal(spins, sigma)``, ``Bernoulli(probs[spins])`` or a masked, scaled or repeated
version of them, the product is again a model of the same kind with an extra per-unit field:

.. math:: \log p(y \mid x) = \sum_e \ell_e(x_{o(e)})
   = \text{const} + \sum_i \phi_i x_i, \qquad
   \phi_i = \sum_{e : o(e) = i} \frac{\ell_e(\text{up}) - \ell_e(\text{down})}
   {\text{up} - \text{down}},

where :math:`o(e)` is the unit that element :math:`e` depends on. Every kernel that samples
the prior exactly then samples the conditional exactly (:meth:`EnergyModel.tilted`).

The field is evaluated from the model itself at every step (two traces: every unit up, every
unit down), so it follows the current values of continuous parameters such as ``sigma``. The
owner :math:`o(e)` of each element is found once, when the kernel starts, by probing: the
elements' log-densities with the units set to the binary digits of their indices (about
:math:`\log_2 N` configurations) name each element's owner, and a few random configurations
confirm that nothing else moves them. A site whose elements depend on several units (a blur,
a multivariate normal over the units, a sum of units) is refused with its name, as the field
cannot represent it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.distributions import Independent, MaskedDistribution
from numpyro.infer.initialization import init_to_sample
from numpyro.infer.inspect import get_model_relations

from physsamp.models.base import EnergyModel

#: relative size of a change in an element's log-density taken as real, not rounding
PROBE_TOLERANCE = 1e-5

#: random configurations that confirm the owners found from the binary probes
NUM_CONFIRMATIONS = 4

#: the reserved keyword through which ``numpyro.infer.Gibbs`` passes its conditioning values
GIBBS_SITES_KWARG = "_gibbs_sites"


@dataclass(frozen=True)
class Factor:
    """A site whose log-density depends on a physsamp site's units, each element on one.

    ``owner``: the unit of each element of the flattened log-density, or ``None`` when element
    ``i`` belongs to unit ``i`` (the common case, summed without a scatter)."""

    name: str
    owner: np.ndarray | None


@dataclass(frozen=True)
class SitePlan:
    """What a kernel needs to sample one physsamp site: the model seen when the kernel
    started (its structure; its parameter values may change from step to step when they are
    other sites' values) and the factors folded into its field."""

    name: str
    model: EnergyModel
    factors: tuple[Factor, ...]
    random_parameters: tuple[str, ...]


# -- tracing -------------------------------------------------------------------------------------
class supply_values(handlers.Messenger):
    """Give every physsamp site without a value a uniform configuration (the exact
    distribution at beta = 0) while a kernel traces the model. It only initialises."""

    def process_message(self, msg):
        if msg["type"] != "sample" or msg["value"] is not None or msg["is_observed"]:
            return
        fn = msg["fn"]
        if not isinstance(fn, EnergyModel):
            if isinstance(unwrap(fn), EnergyModel):
                raise ValueError(
                    f"physsamp site {msg['name']!r} is wrapped ({type(fn).__name__}): plates, "
                    ".expand(), .mask() and .to_event() around a physsamp model are not "
                    "supported; build one model per site (a disjoint graph holds many copies)"
                )
            return
        rng_key = msg["kwargs"].get("rng_key")
        if rng_key is None:
            rng_key = jax.random.key(0)
        msg["value"] = fn.uniform_configuration(rng_key, msg["kwargs"].get("sample_shape", ()))


def unwrap(fn: Any) -> Any:
    while hasattr(fn, "base_dist") and not isinstance(fn, EnergyModel):
        fn = fn.base_dist
    return fn


def supplied(model: Callable) -> Callable:
    """``model`` run under :class:`supply_values`."""

    def wrapped(*args, **kwargs):
        with supply_values():
            return model(*args, **kwargs)

    wrapped.__name__ = getattr(model, "__name__", "model")
    return wrapped


def trace_at(model: Callable, model_args: tuple, model_kwargs: dict, values: dict) -> dict:
    """The trace of ``model`` with ``values`` substituted."""
    seeded = handlers.seed(supplied(model), rng_seed=0)
    return handlers.trace(handlers.substitute(seeded, data=values)).get_trace(
        *model_args, **model_kwargs
    )


def elementwise_log_prob(site: dict) -> jax.Array:
    """A sample site's log-density element by element: ``Independent`` sums undone, masks
    and the site's scale applied."""
    log_prob = _elementwise(site["fn"], site["value"])
    if site.get("scale") is not None:
        log_prob = log_prob * site["scale"]
    return log_prob


def _elementwise(fn: Any, value: Any) -> jax.Array:
    if isinstance(fn, Independent):
        return _elementwise(fn.base_dist, value)
    if isinstance(fn, MaskedDistribution):
        log_prob = _elementwise(fn.base_dist, value)
        mask = jnp.asarray(fn._mask)
        mask = mask.reshape(mask.shape + (1,) * (log_prob.ndim - mask.ndim))
        return jnp.where(mask, log_prob, 0.0)
    return jnp.asarray(fn.log_prob(value))


# -- at init: which sites, which factors --------------------------------------------------------
class ModelStructure(NamedTuple):
    """A model traced once on concrete values: ``model_kwargs`` without the conditioning of
    ``numpyro.infer.Gibbs``, the names that conditioning fixes (``others``, owned by other
    blocks), the sample sites, and each sample site's upstream sample sites."""

    model_kwargs: dict
    others: frozenset[str]
    samples: dict[str, dict]
    relations: dict[str, list[str]]


def model_structure(model: Callable, model_args: tuple, model_kwargs: dict) -> ModelStructure:
    """Trace ``model`` (its latent sites at ``init_to_sample`` values, physsamp sites at
    uniform configurations) and read its dependencies."""
    kwargs = dict(model_kwargs)
    others = frozenset(kwargs.pop(GIBBS_SITES_KWARG, {}))
    seeded = handlers.seed(supplied(model), rng_seed=0)
    base = handlers.trace(handlers.substitute(seeded, substitute_fn=init_to_sample)).get_trace(
        *model_args, **kwargs
    )
    samples = {name: site for name, site in base.items() if site["type"] == "sample"}
    relations = get_model_relations(supplied(model), model_args, kwargs)["sample_sample"]
    return ModelStructure(kwargs, others, samples, relations)


def analyse(
    model: Callable,
    model_args: tuple,
    model_kwargs: dict,
    kernel_name: str,
    *,
    fixed_parameters: bool = False,
) -> dict[str, SitePlan]:
    """Find the physsamp sites this kernel owns and the factors of their conditionals, with
    clear errors for every model it cannot sample exactly. Runs eagerly on concrete values.

    ``model_kwargs`` may hold the conditioning values of ``numpyro.infer.Gibbs``: the sites
    they name belong to other blocks. ``fixed_parameters``: refuse physsamp sites whose
    parameters are other sites' values (parallel tempering keeps its ladder across steps).
    """
    kwargs, others, samples, relations = model_structure(model, model_args, model_kwargs)
    physics = [
        name
        for name, site in samples.items()
        if isinstance(site["fn"], EnergyModel) and not site["is_observed"]
    ]
    owned = [name for name in physics if name not in others]
    if not owned:
        raise ValueError(
            f"{kernel_name} found no latent physsamp site to sample; add one with "
            "numpyro.sample('spins', physsamp.Ising(...))"
        )
    unowned = [
        name
        for name, site in samples.items()
        if not site["is_observed"] and name not in physics and name not in others
    ]
    if unowned:
        raise ValueError(_composition_message(kernel_name, owned, unowned, relations))

    plans = {}
    latent_values = {n: s["value"] for n, s in samples.items() if not s["is_observed"]}
    for name in owned:
        model_here = samples[name]["fn"]
        parents = tuple(relations.get(name, ()))
        _check_parents(name, parents, samples, kernel_name, fixed_parameters)
        children = [
            child
            for child, upstream in relations.items()
            if name in upstream and child != name and child in samples
        ]
        factors = []
        for child in children:
            if isinstance(samples[child]["fn"], EnergyModel):
                raise ValueError(
                    f"the parameters of physsamp site {child!r} depend on physsamp site "
                    f"{name!r}: the partition function of {child!r} would then depend on "
                    f"{name!r} (a doubly intractable model), which no physsamp kernel samples"
                )

            def log_prob_at(units, child=child, name=name):
                values = {**latent_values, name: units}
                site = trace_at(model, model_args, kwargs, values)[child]
                return np.asarray(elementwise_log_prob(site), dtype=np.float64).reshape(-1)

            owner = find_owners(log_prob_at, model_here, child, name)
            factors.append(Factor(child, owner))
        plans[name] = SitePlan(name, model_here, tuple(factors), parents)
    return plans


def _check_parents(name, parents, samples, kernel_name, fixed_parameters) -> None:
    physics_parents = [p for p in parents if isinstance(samples[p]["fn"], EnergyModel)]
    if physics_parents:
        raise ValueError(
            f"the parameters of physsamp site {name!r} depend on physsamp site "
            f"{physics_parents[0]!r}: the partition function of {name!r} would then depend on "
            "it (a doubly intractable model), which no physsamp kernel samples"
        )
    if parents and fixed_parameters:
        raise ValueError(
            f"{kernel_name} keeps a ladder of temperatures ending at the site's own beta, so "
            f"the parameters of physsamp site {name!r} must be fixed, but they depend on "
            f"{list(parents)}; use physsamp.infer.BlockGibbs or SwendsenWang for {name!r} in "
            "this composition"
        )


def _composition_message(kernel_name, owned, unowned, relations) -> str:
    parameters = sorted({p for name in owned for p in relations.get(name, ()) if p in unowned})
    rest = [name for name in unowned if name not in parameters]
    blocks = [f"(physsamp.infer.{kernel_name}(model), {owned!r})"]
    if parameters:
        blocks.append(f"(physsamp.infer.Exchange(model), {parameters!r})")
    if rest:
        blocks.append("(numpyro.infer.NUTS(model), None)")
    lines = [
        f"{kernel_name} samples physsamp sites only, but the model has other latent sites "
        f"{unowned}."
    ]
    if parameters:
        lines.append(
            f"{parameters} are parameters of the physsamp site(s): their posterior needs the "
            "partition function, which the exchange algorithm cancels."
        )
    lines.append(
        "Compose kernels with numpyro.infer.Gibbs, each block owning its sites:\n"
        f"    kernel = numpyro.infer.Gibbs([{', '.join(blocks)}])"
    )
    return "\n".join(lines)


def find_owners(
    log_prob_at: Callable[[np.ndarray], np.ndarray],
    model: EnergyModel,
    child: str,
    site: str,
    rng_seed: int = 0,
) -> np.ndarray | None:
    """The unit that each element of a child's log-density depends on (see the module's
    docstring), or ``None`` for the identity. Raises when an element depends on several."""
    num_units = model.num_sites
    down, up = model.unit_values
    index = np.arange(num_units)
    all_up = log_prob_at(np.full(num_units, up, np.int8))
    all_down = log_prob_at(np.full(num_units, down, np.int8))
    if all_up.shape != all_down.shape or not np.all(np.isfinite(all_up) & np.isfinite(all_down)):
        bad = int(np.flatnonzero(~(np.isfinite(all_up) & np.isfinite(all_down)))[0])
        raise ValueError(
            f"site {child!r} has a log-density of -inf or NaN at element {bad} when every unit "
            f"of {site!r} is {up} or every unit is {down}; a physsamp kernel folds in only "
            "factors that are finite for both values of each unit"
        )
    tolerance = PROBE_TOLERANCE * (1.0 + np.abs(all_up) + np.abs(all_down))
    owner = np.zeros(all_up.shape, np.int64)
    for bit in range(max(1, math.ceil(math.log2(num_units)))):
        units_up = (index >> bit) & 1 == 1
        probe = log_prob_at(np.where(units_up, up, down).astype(np.int8))
        from_up, from_down = np.abs(probe - all_up), np.abs(probe - all_down)
        _refuse_coupled(np.minimum(from_up, from_down) > tolerance, child, site)
        owner |= (from_up < from_down).astype(np.int64) << bit
    depends = np.abs(all_up - all_down) > tolerance
    owner = np.where(depends, owner, np.minimum(np.arange(owner.size), num_units - 1))
    _refuse_coupled(owner >= num_units, child, site)
    rng = np.random.default_rng(rng_seed)
    for _ in range(NUM_CONFIRMATIONS):
        units = np.where(rng.random(num_units) < 0.5, up, down).astype(np.int8)
        predicted = np.where(units[owner] == up, all_up, all_down)
        _refuse_coupled(np.abs(log_prob_at(units) - predicted) > tolerance, child, site)
    if owner.size == num_units and np.array_equal(owner, index):
        return None
    return owner


def _refuse_coupled(bad: np.ndarray, child: str, site: str) -> None:
    if np.any(bad):
        element = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"site {child!r} couples the units of physsamp site {site!r}: element {element} "
            "of its log-density depends on more than one unit (a blur, a sum of units, a "
            "multivariate distribution over them). A physsamp kernel folds in only factors "
            "whose every element depends on one unit, as y ~ Normal(spins, sigma) does; "
            "sampling this model would need the full conditional, which no physsamp kernel "
            "computes"
        )


# -- at every step -------------------------------------------------------------------------------
def conditional_model(
    plan: SitePlan,
    model: Callable,
    model_args: tuple,
    model_kwargs: dict,
    values: dict[str, jax.Array],
) -> EnergyModel:
    """The site's model at the current values of every other site, tilted by its factors."""
    name = plan.name
    site_model = plan.model
    num_units = site_model.num_sites
    down, up = site_model.unit_values
    if not plan.factors:
        if not plan.random_parameters:
            return site_model
        return trace_at(model, model_args, model_kwargs, values)[name]["fn"]
    trace_up = trace_at(model, model_args, model_kwargs, {**values, name: _full(num_units, up)})
    trace_down = trace_at(model, model_args, model_kwargs, {**values, name: _full(num_units, down)})
    field = jnp.zeros(num_units, jnp.float32)
    for factor in plan.factors:
        difference = (
            elementwise_log_prob(trace_up[factor.name])
            - elementwise_log_prob(trace_down[factor.name])
        ).reshape(-1) / (up - down)
        if factor.owner is None:
            field = field + difference
        else:
            field = field + jax.ops.segment_sum(difference, factor.owner, num_units)
    current = trace_up[name]["fn"] if plan.random_parameters else site_model
    return current.tilted(field)


def _full(num_units: int, value: int) -> jax.Array:
    return jnp.full(num_units, value, jnp.int8)
