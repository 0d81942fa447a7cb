"""The bridge between NumPyro models and the pure kernels of :mod:`physsamp.kernels`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from numpyro import handlers
from numpyro.infer.mcmc import MCMCKernel
from numpyro.util import is_prng_key

from physsamp.infer._conditional import (
    GIBBS_SITES_KWARG,
    SitePlan,
    analyse,
    conditional_model,
    supplied,
)
from physsamp.models.base import EnergyModel


class PhysicsState(NamedTuple):
    """State of a physsamp NumPyro kernel (batched along chains when vectorised).

    ``z``: the value of every physsamp site (the sample field); ``potential_energy``: minus
    the log density of the sites' conditionals, up to a constant (the sum of ``beta * E`` when
    nothing depends on the sites); ``stats``: the
    kernel's per-step information, flattened to named scalars; ``kernel_state``: the pure
    kernels' states by site.
    """

    i: jax.Array
    z: dict[str, jax.Array]
    potential_energy: jax.Array
    stats: dict[str, jax.Array]
    kernel_state: dict[str, Any]
    rng_key: jax.Array


def _batched(rng_key: jax.Array) -> bool:
    return not is_prng_key(rng_key)


class ModelKernel(MCMCKernel):
    """What the physsamp NumPyro kernels share: a user's model, an eager analysis of it at
    ``init`` (on concrete values, as NumPyro may call ``init`` inside ``pmap`` or ``vmap``),
    vectorised chains as a batch of states, and the protocol of a ``numpyro.infer.Gibbs``
    block: constrained values in ``z``, nothing to refresh (every step reads the other
    blocks' current values afresh), ``wrap_model``.

    Subclasses give ``analyse(model_args, model_kwargs)``,
    ``_init_one(rng_key, init_params, model_args, model_kwargs)`` and
    ``_sample_one(state, model_args, model_kwargs)``."""

    sample_field = "z"  # type: ignore[assignment]

    def __init__(self, model: Callable):
        if not callable(model):
            raise TypeError(f"{type(self).__name__} needs a NumPyro model (a callable)")
        self._user_model = model
        self._sample_fn = None
        self._vectorized = False

    def analyse(self, model_args: tuple, model_kwargs: dict) -> None:
        raise NotImplementedError

    def forget_analysis(self) -> None:
        """Drop what ``analyse`` found (the model is about to change)."""

    def _init_one(self, rng_key, init_params, model_args, model_kwargs) -> Any:
        raise NotImplementedError

    def _sample_one(self, state, model_args, model_kwargs) -> Any:
        raise NotImplementedError

    @property
    def model(self) -> Callable:
        """The user's model (``numpyro.infer.Gibbs`` requires its blocks to share it)."""
        return self._user_model

    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        model_kwargs = {} if model_kwargs is None else model_kwargs
        with jax.ensure_compile_time_eval():
            self.analyse(model_args, model_kwargs)
        self._vectorized = _batched(rng_key)

        def init_one(key, params):
            return self._init_one(key, params, model_args, model_kwargs)

        state = (
            jax.vmap(init_one)(rng_key, init_params)
            if self._vectorized
            else init_one(rng_key, init_params)
        )
        self._sample_fn = self.sample
        return state

    def sample(self, state, model_args, model_kwargs):
        model_kwargs = {} if model_kwargs is None else model_kwargs
        if self._vectorized:
            return jax.vmap(lambda s: self._sample_one(s, model_args, model_kwargs))(state)
        return self._sample_one(state, model_args, model_kwargs)

    def refresh(self, state, model_args, model_kwargs):
        """Nothing to refresh: every step reads the other blocks' current values afresh."""
        return state

    def wrap_model(self, wrapper: Callable):
        """A copy of the kernel on ``wrapper(model)`` (``numpyro.infer.Gibbs`` conditions the
        model of each block this way)."""
        kernel = copy.copy(self)
        kernel._user_model = wrapper(self._user_model)
        kernel.forget_analysis()
        kernel._sample_fn = None
        return kernel

    def get_constrain_fn(self, model_args, model_kwargs):
        """``z`` holds constrained values (spins need no transform): the identity."""
        return lambda z: z

    def postprocess_fn(self, model_args, model_kwargs):
        model_kwargs = {} if model_kwargs is None else model_kwargs
        model = supplied(self._user_model)

        def with_deterministic(z):
            traced = handlers.trace(handlers.substitute(handlers.seed(model, 0), data=z))
            sites = traced.get_trace(*model_args, **model_kwargs)
            extra = {n: s["value"] for n, s in sites.items() if s["type"] == "deterministic"}
            return {**z, **extra}

        return with_deterministic


class PhysicsKernel(ModelKernel):
    """Base of the NumPyro kernels: finds the physsamp sites and drives a pure kernel on each.

    Each step samples every physsamp site the kernel owns from its conditional given every
    other site: the site's own model (at the current values of its parameters) tilted by the
    sites that depend on it (see ``physsamp.infer._conditional``). The kernel is also a
    block of ``numpyro.infer.Gibbs``, beside NUTS or any other kernel for the other sites.

    Subclasses give ``kernel_init(position, model)``, ``kernel_step(rng_key, state, model)``
    and ``kernel_position(state)``.
    """

    #: whether the sites' parameters must be fixed (parallel tempering keeps a ladder across
    #: steps)
    fixed_parameters = False

    def __init__(self, model: Callable):
        super().__init__(model)
        self._plans: dict[str, SitePlan] | None = None

    # -- what subclasses provide ---------------------------------------------------------------
    def kernel_init(self, position: jax.Array, model: EnergyModel) -> Any:
        raise NotImplementedError

    def kernel_step(self, rng_key: jax.Array, state: Any, model: EnergyModel) -> tuple[Any, Any]:
        raise NotImplementedError

    def kernel_position(self, state: Any) -> jax.Array:
        return state.position

    # -- MCMCKernel ----------------------------------------------------------------------------
    @property
    def sites(self) -> dict[str, EnergyModel]:
        """The physsamp sites found by ``init``, by name, with their models as first seen."""
        return {name: plan.model for name, plan in self.plans.items()}

    @property
    def plans(self) -> dict[str, SitePlan]:
        """Per physsamp site, its model and the sites folded into its conditional."""
        if self._plans is None:
            raise RuntimeError("the kernel has not been initialised by MCMC.run yet")
        return self._plans

    @property
    def default_fields(self) -> tuple[str, ...]:
        return ("z", "potential_energy", "stats")

    def analyse(self, model_args, model_kwargs) -> None:
        self._plans = analyse(
            self._user_model,
            model_args,
            model_kwargs,
            type(self).__name__,
            fixed_parameters=self.fixed_parameters,
        )

    def forget_analysis(self) -> None:
        self._plans = None

    def initial_position(self, rng_key: jax.Array, name: str, init_params: dict | None):
        model = self.plans[name].model
        if init_params is not None and name in init_params:
            position = jnp.asarray(init_params[name])
            model.check_values(position)
            return position
        return model.uniform_configuration(rng_key)

    def _init_one(self, rng_key, init_params, model_args, model_kwargs) -> PhysicsState:
        plans = self.plans
        rng_key, *site_keys = jax.random.split(rng_key, len(plans) + 1)
        kernel_state, z = {}, {}
        for key, (name, plan) in zip(site_keys, plans.items(), strict=True):
            position = self.initial_position(key, name, init_params)
            kernel_state[name] = self.kernel_init(position, plan.model)
            z[name] = self.kernel_position(kernel_state[name])
        infos = self._infos_like(kernel_state)
        return self._assemble(jnp.array(0), z, kernel_state, infos, rng_key, model_args,
                              model_kwargs, zeros=True)  # fmt: skip

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

    def conditional(self, name: str, z: dict, model_args: tuple, model_kwargs: dict):
        """The model a kernel step samples for site ``name``: its conditional given the
        current values ``z`` of the physsamp sites and, through ``model_kwargs``, of the
        sites other blocks of a ``numpyro.infer.Gibbs`` own."""
        return conditional_model(self.plans[name], self._user_model, model_args, model_kwargs, z)

    def after_step(self, name: str, kernel_state: Any, step_number: jax.Array) -> Any:
        """A hook for kernels that adapt between steps (parallel tempering's ladder)."""
        return kernel_state

    def _sample_one(self, state: PhysicsState, model_args, model_kwargs) -> PhysicsState:
        rng_key, *site_keys = jax.random.split(state.rng_key, len(self.plans) + 1)
        step_number = state.i + 1
        kernel_state, z, infos = dict(state.kernel_state), dict(state.z), {}
        for key, name in zip(site_keys, self.plans, strict=True):
            model = self.conditional(name, z, model_args, model_kwargs)
            new, infos[name] = self.kernel_step(key, kernel_state[name], model)
            kernel_state[name] = self.after_step(name, new, step_number)
            z[name] = self.kernel_position(kernel_state[name])
        return self._assemble(step_number, z, kernel_state, infos, rng_key, model_args,
                              model_kwargs)  # fmt: skip

    def _assemble(self, i, z, kernel_state, infos, rng_key, model_args, model_kwargs,
                  zeros: bool = False) -> PhysicsState:  # fmt: skip
        potential = self.potential_energy(z, model_args, model_kwargs)
        stats = self._stats_of(infos)
        if zeros:
            stats = jax.tree.map(jnp.zeros_like, stats)
        return PhysicsState(i, z, potential, stats, kernel_state, rng_key)

    def potential_energy(self, z: dict, model_args: tuple, model_kwargs: dict) -> jax.Array:
        """Minus the log density of the physsamp sites' conditionals at ``z``, up to a
        constant (``beta * E`` summed over the sites when nothing depends on them)."""
        total = jnp.zeros((), jnp.float32)
        for name in self.plans:
            # Kernel states are always in the support: the unchecked density suffices.
            conditional = self.conditional(name, z, model_args, model_kwargs)
            total = total - conditional.unnormalized_log_prob(z[name])
        return total

    def get_diagnostics_str(self, state) -> str:
        return f"potential {float(jnp.mean(state.potential_energy)):.4g}"


__all__ = ["GIBBS_SITES_KWARG", "ModelKernel", "PhysicsKernel", "PhysicsState"]
