"""The bridge between NumPyro models and the pure kernels of :mod:`physsamp.kernels`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from numpyro import handlers
from numpyro.distributions import Distribution
from numpyro.infer.inspect import get_model_relations
from numpyro.infer.mcmc import MCMCKernel
from numpyro.primitives import Messenger
from numpyro.util import is_prng_key

from physsamp.models.base import EnergyModel


class PhysicsState(NamedTuple):
    """State of a physsamp NumPyro kernel (batched along chains when vectorised).

    ``z``: the value of every physsamp site (the sample field); ``potential_energy``: the sum
    of ``beta * E`` over those sites (minus the unnormalised log density); ``stats``: the
    kernel's per-step information, flattened to named scalars; ``kernel_state``: the pure
    kernels' states by site.
    """

    i: jax.Array
    z: dict[str, jax.Array]
    potential_energy: jax.Array
    stats: dict[str, jax.Array]
    kernel_state: dict[str, Any]
    rng_key: jax.Array


def _unwrap(fn: Any) -> Any:
    while hasattr(fn, "base_dist") and not isinstance(fn, EnergyModel):
        fn = fn.base_dist
    return fn


class supply_values(Messenger):
    """Give every latent physsamp site a value when the model is traced outside a physsamp
    kernel (the kernel's own tracing, ArviZ's conversion): a uniform configuration, the exact
    distribution at beta = 0. The value only initialises; it is never a sample."""

    def process_message(self, msg):
        if msg["type"] != "sample" or msg["value"] is not None or msg["is_observed"]:
            return
        fn = msg["fn"]
        if not isinstance(fn, EnergyModel):
            if isinstance(_unwrap(fn), EnergyModel):
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


def with_supplied_values(model: Callable) -> Callable:
    def wrapped(*args, **kwargs):
        with supply_values():
            return model(*args, **kwargs)

    wrapped.__name__ = getattr(model, "__name__", "model")
    return wrapped


def find_physics_sites(
    model: Callable, model_args: tuple, model_kwargs: dict, kernel_name: str
) -> dict[str, EnergyModel]:
    """The latent physsamp sites of ``model`` and their distributions, after checking that a
    physsamp kernel can sample the model exactly."""
    traced = handlers.trace(handlers.seed(model, 0)).get_trace(*model_args, **model_kwargs)
    sites = {
        name: site["fn"]
        for name, site in traced.items()
        if site["type"] == "sample"
        and not site["is_observed"]
        and isinstance(site["fn"], EnergyModel)
    }
    if not sites:
        raise ValueError(
            f"{kernel_name} found no latent physsamp site in the model; add one with "
            "numpyro.sample('spins', physsamp.Ising(...))"
        )
    for name, site in traced.items():
        if site["type"] != "sample" or site["is_observed"] or name in sites:
            continue
        if isinstance(site["fn"], Distribution):
            raise ValueError(
                f"{kernel_name} samples physsamp sites only, but latent site {name!r} is a "
                f"{type(site['fn']).__name__}; condition it on data (obs=...) or sample the "
                "model with a kernel for it"
            )
    relations = get_model_relations(model, model_args, model_kwargs)["sample_sample"]
    for name, upstream in relations.items():
        if name in sites and upstream:
            raise ValueError(
                f"the parameters of physsamp site {name!r} depend on the random variable(s) "
                f"{upstream}: the unnormalised log_prob lacks their partition function (a "
                "doubly intractable model), so no physsamp kernel samples it correctly"
            )
        spin_parents = [parent for parent in upstream if parent in sites]
        if spin_parents and name not in sites:
            raise ValueError(
                f"site {name!r} depends on physsamp site {spin_parents[0]!r}; {kernel_name} "
                "samples a physsamp site from its own distribution only and would ignore that "
                "factor (likelihood terms on spins are not supported yet)"
            )
    return sites


def _batched(rng_key: jax.Array) -> bool:
    return not is_prng_key(rng_key)


class PhysicsKernel(MCMCKernel):
    """Base of the NumPyro kernels: finds the physsamp sites and drives a pure kernel on each.

    Subclasses give ``kernel_init(position, model)``, ``kernel_step(rng_key, state, model)``
    and ``kernel_position(state)``.
    """

    sample_field = "z"  # type: ignore[assignment]

    def __init__(self, model: Callable):
        if not callable(model):
            raise TypeError(f"{type(self).__name__} needs a NumPyro model (a callable)")
        self._user_model = model
        self._model = with_supplied_values(model)
        self._sites: dict[str, EnergyModel] | None = None
        self._sample_fn = None
        self._vectorized = False

    # -- what subclasses provide ---------------------------------------------------------------
    def kernel_init(self, position: jax.Array, model: EnergyModel) -> Any:
        raise NotImplementedError

    def kernel_step(self, rng_key: jax.Array, state: Any, model: EnergyModel) -> tuple[Any, Any]:
        raise NotImplementedError

    def kernel_position(self, state: Any) -> jax.Array:
        return state.position

    # -- MCMCKernel ----------------------------------------------------------------------------
    @property
    def model(self) -> Callable:
        """The user's model, wrapped so that tracing it outside the kernel works."""
        return self._model

    @property
    def sites(self) -> dict[str, EnergyModel]:
        """The physsamp sites found by ``init``, by name."""
        if self._sites is None:
            raise RuntimeError("the kernel has not been initialised by MCMC.run yet")
        return self._sites

    @property
    def default_fields(self) -> tuple[str, ...]:
        return ("z", "potential_energy", "stats")

    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        model_kwargs = {} if model_kwargs is None else model_kwargs
        # NumPyro calls init inside pmap for chain_method="parallel": trace the model eagerly so
        # that models built inside it hold concrete arrays, not tracers of that transform.
        with jax.ensure_compile_time_eval():
            self._sites = find_physics_sites(
                self._model, model_args, model_kwargs, type(self).__name__
            )
        self._vectorized = _batched(rng_key)
        if self._vectorized:
            state = jax.vmap(self._init_one)(rng_key, init_params)
        else:
            state = self._init_one(rng_key, init_params)
        self._sample_fn = self.sample
        return state

    def _init_one(self, rng_key: jax.Array, init_params: dict | None) -> PhysicsState:
        sites = self.sites
        rng_key, *site_keys = jax.random.split(rng_key, len(sites) + 1)
        kernel_state, z = {}, {}
        for key, (name, model) in zip(site_keys, sites.items(), strict=True):
            if init_params is not None and name in init_params:
                position = jnp.asarray(init_params[name])
                model.check_values(position)
            else:
                position = model.uniform_configuration(key)
            kernel_state[name] = self.kernel_init(position, model)
            z[name] = self.kernel_position(kernel_state[name])
        potential = sum(-model.log_prob(z[name]) for name, model in sites.items())
        stats = jax.tree.map(jnp.zeros_like, self._stats_of(self._infos_like(kernel_state)))
        return PhysicsState(jnp.array(0), z, jnp.asarray(potential), stats, kernel_state, rng_key)

    def _infos_like(self, kernel_state: dict) -> dict:
        shapes = {
            name: jax.eval_shape(self.kernel_step, jax.random.key(0), kernel_state[name], model)[1]
            for name, model in self.sites.items()
        }
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def _stats_of(self, infos: dict) -> dict[str, jax.Array]:
        single = len(infos) == 1
        return {
            (field if single else f"{name}.{field}"): value
            for name, info in infos.items()
            for field, value in info._asdict().items()
        }

    def _sample_one(self, state: PhysicsState) -> PhysicsState:
        rng_key, *site_keys = jax.random.split(state.rng_key, len(self.sites) + 1)
        kernel_state, z, infos = {}, {}, {}
        for key, (name, model) in zip(site_keys, self.sites.items(), strict=True):
            kernel_state[name], infos[name] = self.kernel_step(key, state.kernel_state[name], model)
            z[name] = self.kernel_position(kernel_state[name])
        potential = sum(-model.log_prob(z[name]) for name, model in self.sites.items())
        return PhysicsState(
            state.i + 1, z, jnp.asarray(potential), self._stats_of(infos), kernel_state, rng_key
        )

    def sample(self, state, model_args, model_kwargs):
        if self._vectorized:
            return jax.vmap(self._sample_one)(state)
        return self._sample_one(state)

    def postprocess_fn(self, model_args, model_kwargs):
        model_kwargs = {} if model_kwargs is None else model_kwargs

        def with_deterministic(z):
            traced = handlers.trace(handlers.substitute(handlers.seed(self._model, 0), data=z))
            sites = traced.get_trace(*model_args, **model_kwargs)
            extra = {n: s["value"] for n, s in sites.items() if s["type"] == "deterministic"}
            return {**z, **extra}

        return with_deterministic

    def get_diagnostics_str(self, state) -> str:
        return f"potential {float(jnp.mean(state.potential_energy)):.4g}"
