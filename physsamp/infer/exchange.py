r"""The exchange algorithm for random parameters of physsamp sites (doubly intractable models).

When beta, a coupling or a field of a physsamp site is a random variable, its posterior
involves the partition function: with data (or current spins) :math:`x`,

.. math:: p(\theta \mid x) \propto p(\theta)\, \frac{f(x \mid \theta)}{Z(\theta)},
   \qquad f(x \mid \theta) = e^{-\beta E_\theta(x)},

and :math:`Z(\theta)` is intractable. The exchange algorithm of Murray, Ghahramani & MacKay
(UAI 2006) proposes :math:`\theta' \sim q(\cdot \mid \theta)`, draws an auxiliary
configuration :math:`w \sim f(\cdot \mid \theta') / Z(\theta')` and accepts with probability

.. math:: \min\Big(1, \frac{p(\theta') f(x \mid \theta') q(\theta \mid \theta')}
   {p(\theta) f(x \mid \theta) q(\theta' \mid \theta)}
   \cdot \frac{f(w \mid \theta)}{f(w \mid \theta')}\Big),

in which both partition functions cancel. With an exact draw of :math:`w` the chain is exact.
Here :math:`w` comes from ``num_aux_sweeps`` sweeps of a physsamp kernel at :math:`\theta'`
started from :math:`x` (the approximation of Liang 2010 and of every practical use): too few
sweeps bias the posterior towards too wide, and the bias vanishes as the sweeps decorrelate
the auxiliary draw. Swendsen–Wang decorrelates an Ising model in a few sweeps even near
criticality; 10 sweeps are the default. (On a 32 x 32 periodic lattice observed at beta =
0.42, 1 / 3 / 10 / 30 sweeps gave posterior standard deviations 2.13 / 1.34 / 1.03 / 1.01 times
the exact one: ``benchmarks/exchange_sweeps.py``.)

The proposal is a Gaussian random walk on the unconstrained parameters (NumPyro's
``biject_to`` transforms, with their Jacobians), its scale tuned during warm-up towards an
acceptance rate of 0.44 (one parameter) or 0.3 (several), and its shape by the parameters'
variances estimated in the first half of the warm-up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro import handlers
from numpyro.distributions import biject_to
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import log_density

from physsamp.infer._adapter import ModelKernel, PhysicsKernel
from physsamp.infer._conditional import model_structure, supplied
from physsamp.infer.swendsen_wang import SwendsenWang
from physsamp.models.base import EnergyModel

__all__ = ["Exchange", "ExchangeState"]


class ExchangeState(NamedTuple):
    """``z``: the parameters (constrained values, by site); ``unconstrained``: the same,
    flattened and unconstrained; ``potential_energy``: minus the log density at ``z`` with
    the physsamp sites' unnormalised densities; ``accept_prob`` and ``accepted``: the last
    proposal's; ``log_scale``, ``scale_shape`` and the ``moments`` (count, mean, sum of squared
    deviations) of the warm-up tune the proposal."""

    i: jax.Array
    z: dict[str, jax.Array]
    unconstrained: jax.Array
    potential_energy: jax.Array
    accept_prob: jax.Array
    accepted: jax.Array
    log_scale: jax.Array
    scale_shape: jax.Array
    moments: tuple[jax.Array, jax.Array, jax.Array]
    rng_key: jax.Array


class Exchange(ModelKernel):
    r"""Sample random parameters (beta, couplings, fields) of physsamp sites by the exchange
    algorithm (see the module's docstring).

    Alone, it samples a model whose physsamp sites are observed, for example the inverse
    temperature of one or several observed configurations (``obs=x`` of shape ``[sites]`` or
    ``[configurations, sites]``): the Bayesian inverse Ising problem. As a block of
    ``numpyro.infer.Gibbs`` it updates the parameters given the current spins, beside a
    physsamp kernel for the spins and NUTS for continuous sites. Every latent site it owns must
    be continuous and a parameter of a physsamp site.

    Args:
        model: the NumPyro model.
        kernel: the physsamp kernel class that draws the auxiliary configuration
            (:class:`SwendsenWang` by default; :class:`BlockGibbs` for an RBM).
        num_aux_sweeps: sweeps of that kernel per auxiliary draw, started from the current
            configuration.
        kernel_kwargs: further keyword arguments for the kernel class.
        initial_scale: the proposal's initial standard deviation on the unconstrained scale.
        target_accept_prob: the acceptance rate warm-up aims at (0.44 for one parameter,
            0.3 for several, by default).

    Example:
        >>> import jax, numpyro, numpyro.distributions as dist, physsamp as ps
        >>> from numpyro.infer import MCMC
        >>> observed = ps.Ising.lattice((8, 8)).uniform_configuration(jax.random.key(0))
        >>> def model(x):
        ...     beta = numpyro.sample("beta", dist.Uniform(0.0, 1.0))
        ...     numpyro.sample("spins", ps.Ising.lattice((8, 8), beta=beta), obs=x)
        >>> mcmc = MCMC(ps.infer.Exchange(model, num_aux_sweeps=3), num_warmup=100,
        ...             num_samples=200, progress_bar=False)
        >>> mcmc.run(jax.random.key(1), observed)
        >>> bool(mcmc.get_samples()["beta"].mean() < 0.3)  # random spins: a small beta
        True
    """

    def __init__(
        self,
        model: Callable,
        kernel: Any = SwendsenWang,
        num_aux_sweeps: int = 10,
        kernel_kwargs: dict | None = None,
        initial_scale: float = 0.1,
        target_accept_prob: float | None = None,
    ):
        super().__init__(model)
        if not (inspect.isclass(kernel) and issubclass(kernel, PhysicsKernel)):
            raise TypeError(
                f"kernel must be a physsamp kernel class (SwendsenWang, BlockGibbs), got {kernel!r}"
            )
        if int(num_aux_sweeps) < 1:
            raise ValueError(f"num_aux_sweeps must be >= 1, got {num_aux_sweeps}")
        if not initial_scale > 0:
            raise ValueError(f"initial_scale must be positive, got {initial_scale}")
        self.num_aux_sweeps = int(num_aux_sweeps)
        kernel_class: Any = kernel  # BlockGibbs, SwendsenWang: they take num_sweeps
        self.inner = kernel_class(model, num_sweeps=self.num_aux_sweeps, **(kernel_kwargs or {}))
        self.initial_scale = float(initial_scale)
        self.target_accept_prob = target_accept_prob
        self._sites: tuple[str, ...] = ()
        self._targets: tuple[str, ...] = ()
        self._transforms: dict[str, Any] = {}
        self._unravel: Callable | None = None
        self._num_warmup = 0

    # -- MCMCKernel ----------------------------------------------------------------------------
    @property
    def sites(self) -> tuple[str, ...]:
        """The parameter sites this kernel samples (found by ``init``)."""
        return self._sites

    @property
    def default_fields(self) -> tuple[str, ...]:
        return ("z", "accept_prob")

    def init(self, rng_key, num_warmup, init_params, model_args, model_kwargs):
        self._num_warmup = int(num_warmup)
        return super().init(rng_key, num_warmup, init_params, model_args, model_kwargs)

    def analyse(self, model_args, model_kwargs) -> None:
        structure = model_structure(self._user_model, model_args, model_kwargs)
        _, others, samples, relations = structure
        physics = [name for name, s in samples.items() if isinstance(s["fn"], EnergyModel)]
        owned = [
            name
            for name, s in samples.items()
            if not s["is_observed"] and name not in physics and name not in others
        ]
        latent_spins = [n for n in physics if not samples[n]["is_observed"] and n not in others]
        if latent_spins:
            inner = type(self.inner).__name__
            raise ValueError(
                f"Exchange samples the parameters of physsamp sites, but the spins "
                f"{latent_spins} are latent: give them to a physsamp kernel in a composition,\n"
                f"    kernel = numpyro.infer.Gibbs([(physsamp.infer.{inner}(model), "
                f"{latent_spins!r}), (physsamp.infer.Exchange(model), {owned!r})])"
            )
        targets = tuple(n for n in physics if set(relations.get(n, ())) & set(owned))
        parameters = {p for n in targets for p in relations.get(n, ())}
        strays = [name for name in owned if name not in parameters]
        if not owned:
            raise ValueError("Exchange found no latent parameter of a physsamp site to sample")
        if strays:
            raise ValueError(
                f"Exchange samples parameters of physsamp sites, but {strays} are not "
                "parameters of any physsamp site; give them to another kernel:\n"
                f"    kernel = numpyro.infer.Gibbs([(physsamp.infer.Exchange(model), "
                f"{sorted(parameters & set(owned))!r}), (numpyro.infer.NUTS(model), None)])"
            )
        discrete = [name for name in owned if samples[name]["fn"].support.is_discrete]
        if discrete:
            raise ValueError(f"Exchange samples continuous parameters; {discrete} are discrete")
        self._sites = tuple(owned)
        self._targets = targets
        self._transforms = {name: biject_to(samples[name]["fn"].support) for name in owned}
        for name in targets:  # the inner kernel refuses models it cannot sample, now
            model_here = samples[name]["fn"]
            value = jnp.asarray(samples[name]["value"]).reshape(-1, model_here.num_sites)[0]
            self.inner.kernel_init(value, model_here)

    def _init_one(self, rng_key, init_params, model_args, model_kwargs) -> ExchangeState:
        key_init, rng_key = jax.random.split(rng_key)
        if init_params is not None and all(name in init_params for name in self._sites):
            constrained = {name: jnp.asarray(init_params[name]) for name in self._sites}
        else:
            seeded = handlers.seed(supplied(self._user_model), key_init)
            start = handlers.substitute(seeded, substitute_fn=init_to_uniform)
            trace = handlers.trace(start).get_trace(*model_args, **model_kwargs)
            constrained = {name: trace[name]["value"] for name in self._sites}
        unconstrained = {n: self._transforms[n].inv(v) for n, v in constrained.items()}
        flat, self._unravel = ravel_pytree(unconstrained)
        flat = flat.astype(jnp.float32)
        potential, _ = self._potential(flat, model_args, model_kwargs)
        size = flat.shape[0]
        zero = jnp.zeros((), jnp.float32)
        return ExchangeState(
            i=jnp.array(0),
            z=self._constrain(flat),
            unconstrained=flat,
            potential_energy=potential,
            accept_prob=zero,
            accepted=jnp.array(False),
            log_scale=jnp.log(jnp.float32(self.initial_scale)),
            scale_shape=jnp.ones(size, jnp.float32),
            moments=(zero, jnp.zeros(size, jnp.float32), jnp.zeros(size, jnp.float32)),
            rng_key=rng_key,
        )

    def _constrain(self, flat: jax.Array) -> dict[str, jax.Array]:
        assert self._unravel is not None
        return {n: self._transforms[n](u) for n, u in self._unravel(flat).items()}

    def _potential(self, flat, model_args, model_kwargs):
        """Minus the log density (with the physsamp sites' unnormalised densities) of the
        unconstrained parameters, and the physsamp targets' models and values there."""
        assert self._unravel is not None
        unconstrained = self._unravel(flat)
        constrained = {n: self._transforms[n](u) for n, u in unconstrained.items()}
        log_joint, trace = log_density(self._user_model, model_args, model_kwargs, constrained)
        for name, u in unconstrained.items():
            jacobian = self._transforms[name].log_abs_det_jacobian(u, constrained[name])
            log_joint = log_joint + jnp.sum(jacobian)
        targets = {name: (trace[name]["fn"], trace[name]["value"]) for name in self._targets}
        return -jnp.asarray(log_joint), targets

    def _target_accept_prob(self, size: int) -> float:
        if self.target_accept_prob is not None:
            return self.target_accept_prob
        return 0.44 if size == 1 else 0.3

    def _auxiliary(self, rng_key, model: EnergyModel, start: jax.Array) -> jax.Array:
        """A configuration (or one per observed configuration) drawn at ``model`` by the
        inner kernel started from ``start``."""
        if start.ndim == 1:
            state = self.inner.kernel_init(start, model)
            state, _ = self.inner.kernel_step(rng_key, state, model)
            return self.inner.kernel_position(state)
        flat = start.reshape(-1, start.shape[-1])
        keys = jax.random.split(rng_key, flat.shape[0])
        draws = jax.vmap(lambda key, x: self._auxiliary(key, model, x))(keys, flat)
        return draws.reshape(start.shape)

    def _sample_one(self, state: ExchangeState, model_args, model_kwargs) -> ExchangeState:
        key_proposal, key_aux, key_accept, rng_key = jax.random.split(state.rng_key, 4)
        size = state.unconstrained.shape[0]
        potential, targets = self._potential(state.unconstrained, model_args, model_kwargs)
        scale = jnp.exp(state.log_scale) * state.scale_shape
        proposal = state.unconstrained + scale * jax.random.normal(key_proposal, (size,))
        proposed_potential, proposed = self._potential(proposal, model_args, model_kwargs)
        log_ratio = potential - proposed_potential
        aux_keys = jax.random.split(key_aux, max(len(self._targets), 1))
        for key, name in zip(aux_keys, self._targets, strict=False):
            current_model, observed = targets[name]
            proposed_model = proposed[name][0]
            auxiliary = self._auxiliary(key, proposed_model, jnp.asarray(observed, jnp.int8))
            log_ratio = log_ratio + jnp.sum(
                current_model.log_prob(auxiliary) - proposed_model.log_prob(auxiliary)
            )
        log_ratio = jnp.nan_to_num(log_ratio, nan=-jnp.inf)
        accept_prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
        accepted = jax.random.uniform(key_accept) < accept_prob
        flat = jnp.where(accepted, proposal, state.unconstrained)
        potential = jnp.where(accepted, proposed_potential, potential)
        log_scale, scale_shape, moments = self._adapt(state, flat, accept_prob, size)
        return ExchangeState(
            i=state.i + 1,
            z=self._constrain(flat),
            unconstrained=flat,
            potential_energy=potential,
            accept_prob=accept_prob,
            accepted=accepted,
            log_scale=log_scale,
            scale_shape=scale_shape,
            moments=moments,
            rng_key=rng_key,
        )

    def _adapt(self, state: ExchangeState, flat, accept_prob, size):
        """Robbins–Monro on the log scale during warm-up; the parameters' variances over the
        first half of warm-up set the proposal's shape from then on."""
        step = state.i + 1
        warming = step <= self._num_warmup
        target = self._target_accept_prob(size)
        gain = jnp.where(warming, 1.0 / jnp.power(step.astype(jnp.float32), 0.6), 0.0)
        log_scale = state.log_scale + gain * (accept_prob - target)
        count, mean, squares = state.moments
        half = self._num_warmup // 2
        collecting = warming & (step <= half)
        new_count = count + 1.0
        delta = flat - mean
        new_mean = mean + delta / new_count
        new_squares = squares + delta * (flat - new_mean)
        count = jnp.where(collecting, new_count, count)
        mean = jnp.where(collecting, new_mean, mean)
        squares = jnp.where(collecting, new_squares, squares)
        reshape = (step == half) & (half >= 20)
        variance = squares / jnp.maximum(count - 1.0, 1.0)
        shape = jnp.sqrt(jnp.maximum(variance, 1e-12))
        # The new shape carries the scale: restart it near the optimum for a Gaussian target.
        scale_shape = jnp.where(reshape, shape, state.scale_shape)
        log_scale = jnp.where(reshape, jnp.log(2.38 / np.sqrt(size)), log_scale)
        return log_scale, scale_shape, (count, mean, squares)

    def get_diagnostics_str(self, state) -> str:
        return f"acc. prob {float(jnp.mean(state.accept_prob)):.2f}"
