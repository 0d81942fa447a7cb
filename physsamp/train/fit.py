r"""Maximum-likelihood training of RBMs, Boltzmann machines and Ising models on binary data.

The gradient of the average log-likelihood of data :math:`\mathcal D` under
:math:`p(x) = p^*(x) / Z` is a difference of two averages of the same function,

.. math:: \nabla_\theta \frac{1}{|\mathcal D|} \sum_{x \in \mathcal D} \log p(x)
   = \bigl\langle \nabla_\theta \log p^*(x) \bigr\rangle_{\text{data}}
   - \bigl\langle \nabla_\theta \log p^*(x) \bigr\rangle_{\text{model}},

which for a pairwise model is :math:`\beta(\langle x_i x_j\rangle_\text{data} - \langle x_i
x_j\rangle_\text{model})` per coupling. A training step differentiates
:math:`\overline{\log p^*}(\text{positive}) - \overline{\log p^*}(\text{negative})` with JAX,
where the *positive* configurations are the data (with a Boltzmann machine's hidden units drawn
by Gibbs sweeps clamped to each row; an RBM's are summed out exactly) and the *negative* ones
come from the model:

* ``"cd"``: contrastive divergence CD-k, k block Gibbs sweeps started at the batch
  (Hinton, *Neural Computation* 14, 1771 (2002));
* ``"pcd"``: persistent chains that carry over from step to step (Tieleman, ICML 2008);
* ``"pt-pcd"``: each persistent chain a parallel-tempering ladder from beta = 0 to the model's
  beta, the negative samples taken at the top (Desjardins, Courville, Bengio, Vincent &
  Delalleau, AISTATS 2010);
* ``"exact"``: the model average by enumeration (at most 16 enumerated units: an RBM's smaller
  layer, or all units of a pairwise model), the exact gradient;
* ``"pseudolikelihood"``: for fully visible models, maximise
  :math:`\sum_i \log p(x_i \mid x_{-i})` (Besag 1975; inverse Ising by pseudo-likelihood,
  Aurell & Ekeberg, PRL 108, 090201 (2012)), which needs no samples and scales to large N.

``centered=True`` (RBMs, sampling methods) uses the centred gradient of Melchior, Fischer &
Wiskott, JMLR 17, 1 (2016): offsets :math:`\mu` (the data mean of the visible units) and
:math:`\lambda` (a running mean of the hidden activations) turn the gradient into
:math:`\nabla W = G_W - \mu\, g_b^T - g_a \lambda^T`, :math:`\nabla a = g_a - \nabla W\,\lambda`,
:math:`\nabla b = g_b - \nabla W^T \mu`.

An epoch (a shuffle of the data and a scan over its mini-batches; a remainder smaller than a
batch is left out of that epoch) is one compiled call. Keys are derived from ``rng_key`` and
the epoch number, so a run resumed from a checkpoint ends bit for bit where an uninterrupted one
does.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import math
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array
from tqdm.auto import tqdm

from physsamp.kernels import block_gibbs
from physsamp.kernels import parallel_tempering as pt
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM
from physsamp.train import _phases
from physsamp.train._data import check_data
from physsamp.train._parameters import Parameters, parameters_of, rebuilder
from physsamp.train._phases import Layout
from physsamp.train.evaluate import LogLikelihood, evaluate, hidden_sites

METHODS = ("cd", "pcd", "pt-pcd", "exact", "pseudolikelihood")
SAMPLING_METHODS = ("cd", "pcd", "pt-pcd")
#: the sliding factor of the running mean of hidden activations (Melchior et al. 2016)
HIDDEN_OFFSET_RATE = 0.01


class TrainingDivergenceWarning(UserWarning):
    """The held-out log-likelihood fell while the reconstruction error or the
    pseudo-likelihood kept improving."""


class TrainState(NamedTuple):
    """Everything a training run carries from epoch to epoch (and what a checkpoint holds).

    ``parameters``: the model's trainable arrays (an RBM's ``weights``, ``visible_bias`` and
    ``hidden_bias``; a pairwise model's ``couplings``, one per edge, and ``field``);
    ``optimizer_state``: the optax state; ``chains``: the persistent negative chains ("pcd":
    an RBM's visible units ``[chains, visible]`` or block Gibbs states; "pt-pcd":
    parallel-tempering states, one per chain; empty otherwise);
    ``clamped``: a Boltzmann machine's hidden units for every data row (``[rows, hidden]``);
    ``offsets``: the centred gradient's visible offset (the data mean) and hidden offset (a
    running mean of the hidden activations), empty arrays when not centring;
    ``rng_key``: the run's key (each epoch folds in its number); ``epoch``: epochs done.
    """

    parameters: Parameters
    optimizer_state: Any
    chains: Any
    clamped: Array
    offsets: tuple[Array, Array]
    rng_key: Array
    epoch: Array


@dataclasses.dataclass
class History:
    """What training measured. Per evaluated epoch (``epoch``): the held-out average
    ``log_likelihood`` (nats per example) with its ``stderr`` (AIS; zero when exact) and
    ``data_stderr`` (sampling of the evaluation rows), the ``reconstruction_error`` and
    ``pseudo_log_likelihood`` on the same rows, and ``seconds`` of training so far. Per epoch:
    ``train_reconstruction_error`` (the mini-batches' mean). ``log_likelihood_method``: "exact",
    "ais" or "none" (a Boltzmann machine with hidden units too large to enumerate).
    ``warnings``: what the monitor reported (a falling log-likelihood), at ``warning_epochs``."""

    epoch: list[int] = dataclasses.field(default_factory=list)
    log_likelihood: list[float] = dataclasses.field(default_factory=list)
    stderr: list[float] = dataclasses.field(default_factory=list)
    data_stderr: list[float] = dataclasses.field(default_factory=list)
    reconstruction_error: list[float] = dataclasses.field(default_factory=list)
    pseudo_log_likelihood: list[float] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)
    train_reconstruction_error: list[float] = dataclasses.field(default_factory=list)
    log_likelihood_method: str = "none"
    warnings: list[str] = dataclasses.field(default_factory=list)
    warning_epochs: list[int] = dataclasses.field(default_factory=list)

    def record(self, epoch: int, result: dict[str, Any], seconds: float) -> None:
        likelihood: LogLikelihood = result["log_likelihood"]
        self.epoch.append(int(epoch))
        self.log_likelihood.append(likelihood.mean)
        self.stderr.append(likelihood.stderr)
        self.data_stderr.append(likelihood.data_stderr)
        self.reconstruction_error.append(result["reconstruction_error"])
        self.pseudo_log_likelihood.append(result["pseudo_log_likelihood"])
        self.seconds.append(float(seconds))
        self.log_likelihood_method = likelihood.method

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every per-epoch list as a float64 (``epoch``: int64) numpy array."""
        arrays = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list) and field.name != "warnings":
                dtype = np.int64 if "epoch" in field.name else np.float64
                arrays[field.name] = np.asarray(value, dtype=dtype)
        return arrays

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> History:
        return cls(**values)

    def best(self) -> tuple[int, float]:
        """``(epoch, log_likelihood)`` of the best evaluation."""
        if not self.log_likelihood or all(math.isnan(v) for v in self.log_likelihood):
            return -1, math.nan
        index = int(np.nanargmax(self.log_likelihood))
        return self.epoch[index], self.log_likelihood[index]

    def __str__(self) -> str:
        lines = [f"{'epoch':>6} {'log-lik':>10} {'± se':>8} {'recon':>8} {'pseudo-LL':>10}"]
        for values in zip(
            self.epoch,
            self.log_likelihood,
            self.stderr,
            self.reconstruction_error,
            self.pseudo_log_likelihood,
            strict=True,
        ):
            lines.append("{:>6d} {:>10.4f} {:>8.3g} {:>8.4f} {:>10.4f}".format(*values))
        lines.extend(f"warning: {text}" for text in self.warnings)
        return "\n".join(lines)


@dataclasses.dataclass
class FitResult:
    """The outcome of :func:`fit`: the trained ``model`` (same type and graph as the starting
    one), the ``history`` and the final ``state`` (to train on, or to save)."""

    model: EnergyModel
    history: History
    state: TrainState
    method: str

    def __str__(self) -> str:
        epochs = int(self.state.epoch)
        if not self.history.epoch:
            return f"{type(self.model).__name__} trained by {self.method} for {epochs} epochs"
        last = self.history.log_likelihood[-1]
        stderr = self.history.stderr[-1]
        best_epoch, best = self.history.best()
        text = (
            f"{type(self.model).__name__} trained by {self.method} for {epochs} epochs: "
            f"log-likelihood {last:.4f} ± {stderr:.2g} ({self.history.log_likelihood_method}; "
            f"best {best:.4f} at epoch {best_epoch})"
        )
        if not math.isnan(self.history.reconstruction_error[-1]):
            text += f", reconstruction error {self.history.reconstruction_error[-1]:.4f}"
        if self.history.warnings:
            text += f"\nwarning: {self.history.warnings[-1]}"
        return text


# -- set-up ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)  # one object per setting, so compiled trainers are reused
def default_optimizer(
    method: str, num_steps: int, full_batch: bool
) -> optax.GradientTransformation:
    """The default optimiser for a run of ``num_steps`` gradient steps. Sampling methods: plain
    SGD whose learning rate falls linearly from 0.05 to 0 over the run (as in Tieleman 2008;
    the decay lets persistent chains keep up with the model and averages out the noise of the
    gradient). Deterministic methods ("exact", "pseudolikelihood"): L-BFGS with a line search
    on the whole data set (Adam at 0.05 on mini-batches)."""
    if method in SAMPLING_METHODS:
        return optax.sgd(optax.linear_schedule(0.05, 0.0, max(int(num_steps), 1)))
    return optax.lbfgs() if full_batch else optax.adam(0.05)


def _layout(model: EnergyModel, hidden: Sequence[Any] | None) -> Layout:
    sites = hidden_sites(model, hidden)
    if sites is None:
        num_columns = model.num_visible if isinstance(model, RBM) else model.num_sites
        return Layout(np.arange(num_columns), np.zeros(0, np.int64))
    return Layout(np.setdiff1d(np.arange(model.num_sites), sites), sites)


def _check_method(method: str, model: EnergyModel, layout: Layout, centered: bool) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if method == "pseudolikelihood" and (isinstance(model, RBM) or layout.has_hidden):
        raise ValueError(
            "pseudolikelihood fits fully visible models (Ising, BoltzmannMachine "
            "without hidden units); use 'pcd' or 'exact' for hidden units"
        )
    if method == "exact":
        units = (
            min(model.num_visible, model.num_hidden)
            if isinstance(model, RBM)
            else (model.num_sites)
        )
        if units > _phases.MAX_ENUMERATED_UNITS:
            raise ValueError(
                f"method='exact' enumerates 2^{units} states per step; it handles at most "
                f"{_phases.MAX_ENUMERATED_UNITS} enumerated units. Use 'pcd', 'pt-pcd' or "
                "(fully visible) 'pseudolikelihood'"
            )
    if centered and not (isinstance(model, RBM) and method in (*SAMPLING_METHODS, "exact")):
        raise ValueError("centered gradients are implemented for RBMs")


def _positive_integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _Settings(NamedTuple):
    """What a compiled trainer depends on besides the model's structure (hashable: the key
    of the trainer cache)."""

    num_rows: int
    method: str
    batch_size: int
    optimizer: optax.GradientTransformation
    num_sweeps: int
    num_chains: int
    num_replicas: int
    visible: tuple[int, ...]
    hidden: tuple[int, ...]
    centered: bool


class _Trainer:
    """The compiled epoch of one training configuration."""

    def __init__(self, model: EnergyModel, settings: _Settings):
        self.model = model
        self.method = settings.method
        self.layout = Layout(np.asarray(settings.visible), np.asarray(settings.hidden, np.int64))
        self.batch_size = settings.batch_size
        self.num_batches = settings.num_rows // settings.batch_size
        self.optimizer = settings.optimizer
        self.num_sweeps = settings.num_sweeps
        self.num_chains = settings.num_chains
        self.num_replicas = settings.num_replicas
        self.centered = settings.centered
        self.rebuild = rebuilder(model)
        has_hidden = self.layout.has_hidden
        self.free_blocks = _phases.free_blocks_of(model, self.layout) if has_hidden else ()
        self.gibbs_step = block_gibbs.build_kernel(settings.num_sweeps)
        self.epoch = jax.jit(self._epoch)
        self.init = jax.jit(self._init)

    # -- state -------------------------------------------------------------------------------
    def _init(self, rng_key: jax.Array, rows: Array, model: EnergyModel) -> TrainState:
        """The starting state; ``model`` gives the starting parameters (the cached trainer's
        own model only gives the structure, which ``model`` shares)."""
        layout = self.layout
        key_chains, key_clamped, key_run = jax.random.split(rng_key, 3)
        parameters = parameters_of(model)
        down, up = model.unit_values
        clamped = jnp.zeros((0,), jnp.int8)
        if layout.has_hidden:
            bits = jax.random.bernoulli(key_clamped, 0.5, (rows.shape[0], layout.hidden.size))
            clamped = jnp.where(bits, up, down).astype(jnp.int8)
        chains: Any = ()
        if self.method in ("pcd", "pt-pcd"):
            key_rows, key_hidden = jax.random.split(key_chains)
            picks = jax.random.choice(key_rows, rows.shape[0], (self.num_chains,))
            starts = rows[picks]
            if layout.has_hidden:
                bits = jax.random.bernoulli(key_hidden, 0.5, (self.num_chains, layout.hidden.size))
                hidden = jnp.where(bits, up, down).astype(jnp.int8)
                starts = _phases.assemble(starts, hidden, layout, model.num_sites)
            if self.method == "pcd" and isinstance(model, RBM):
                chains = starts  # the visible units; hidden ones are drawn afresh each sweep
            elif self.method == "pcd":
                chains = jax.vmap(block_gibbs.init, (0, None))(starts, model)
            else:
                betas = jnp.linspace(0.0, 1.0, self.num_replicas) * model.beta
                chains = jax.vmap(lambda x: pt.init(x, model, betas, block_gibbs.init))(starts)
        offsets = (jnp.zeros((0,), jnp.float32), jnp.zeros((0,), jnp.float32))
        if self.centered:
            assert isinstance(model, RBM)
            offsets = (
                rows.mean(axis=0, dtype=jnp.float32),
                model.hidden_given_visible(rows).mean(axis=0),
            )
        return TrainState(
            parameters=parameters,
            optimizer_state=self.optimizer.init(parameters),
            chains=chains,
            clamped=clamped,
            offsets=offsets,
            rng_key=key_run,
            epoch=jnp.array(0, jnp.int32),
        )

    # -- one epoch ---------------------------------------------------------------------------
    def _epoch(self, state: TrainState, rows: Array) -> tuple[TrainState, Array]:
        key = jax.random.fold_in(state.rng_key, state.epoch)
        key_order, key_batches = jax.random.split(key)
        used = self.num_batches * self.batch_size
        order = jax.random.permutation(key_order, rows.shape[0])[:used]
        batches = order.reshape(self.num_batches, self.batch_size)
        keys = jax.random.split(key_batches, self.num_batches)

        def body(current, inputs):
            return self._batch(current, rows, *inputs)

        state, errors = jax.lax.scan(body, state, (batches, keys))
        return state._replace(epoch=state.epoch + 1), errors.mean()

    def _batch(self, state: TrainState, rows: Array, batch: Array, rng_key: jax.Array):
        key_positive, key_negative = jax.random.split(rng_key)
        model = self.rebuild(state.parameters)
        positive = rows[batch]
        clamped = state.clamped
        if self.layout.has_hidden:
            assert isinstance(model, PairwiseModel)
            x = _phases.assemble(positive, clamped[batch], self.layout, model.num_sites)
            positive = _phases.clamped_sweeps(
                key_positive, model, x, self.free_blocks, self.num_sweeps
            )
            clamped = clamped.at[batch].set(positive[:, self.layout.hidden])
        chains, negative = self._negative(key_negative, state.chains, model, positive)
        extra = {}
        if self.method in SAMPLING_METHODS:
            gradient = jax.grad(self._objective)(state.parameters, positive, negative)
        else:
            # A deterministic objective: line-search optimisers (optax.lbfgs) may evaluate it.
            def loss(parameters):
                return -self._objective(parameters, positive, None)

            value, descent = jax.value_and_grad(loss)(state.parameters)
            gradient = jax.tree_util.tree_map(jnp.negative, descent)
            if isinstance(self.optimizer, optax.GradientTransformationExtraArgs):
                extra = {"value": value, "grad": descent, "value_fn": loss}
        offsets = state.offsets
        if self.centered:
            gradient, offsets = self._centre(gradient, model, positive, offsets)
        ascent = jax.tree_util.tree_map(jnp.negative, gradient)
        updates, optimizer_state = self.optimizer.update(
            ascent, state.optimizer_state, state.parameters, **extra
        )
        parameters = optax.apply_updates(state.parameters, updates)
        error = _phases.reconstruction_error(model, positive, self.layout)
        new_state = state._replace(
            parameters=parameters,
            optimizer_state=optimizer_state,
            chains=chains,
            clamped=clamped,
            offsets=offsets,
        )
        return new_state, error

    def _negative(self, rng_key: jax.Array, chains: Any, model: EnergyModel, positive: Array):
        if isinstance(model, RBM) and self.method in ("cd", "pcd"):
            # Every chain at once: one matrix product per layer and sweep.
            starts = positive if self.method == "cd" else chains
            negative = _phases.rbm_gibbs_sweeps(rng_key, model, starts, self.num_sweeps)
            return (chains if self.method == "cd" else negative), negative
        if self.method == "cd":
            keys = jax.random.split(rng_key, positive.shape[0])
            starts = jax.vmap(block_gibbs.init, (0, None))(positive, model)
            states, _ = jax.vmap(self.gibbs_step, (0, 0, None))(keys, starts, model)
            return chains, states.position
        if self.method == "pcd":
            keys = jax.random.split(rng_key, self.num_chains)
            chains, _ = jax.vmap(self.gibbs_step, (0, 0, None))(keys, chains, model)
            return chains, chains.position
        if self.method == "pt-pcd":
            keys = jax.random.split(rng_key, self.num_chains)
            tempering_step = pt.build_kernel(self.gibbs_step)
            chains, _ = jax.vmap(tempering_step, (0, 0, None))(keys, chains, model)
            return chains, chains.position
        return chains, None

    def _objective(self, parameters: Parameters, positive: Array, negative: Array | None):
        model = self.rebuild(parameters)
        if self.method == "pseudolikelihood":
            assert isinstance(model, PairwiseModel)
            return _phases.pseudo_log_likelihood(model, positive).mean()
        if self.method == "exact":
            if self.layout.has_hidden:
                visible = positive[:, self.layout.visible]
                data_term = _phases.enumerated_visible_log_prob(model, visible, self.layout)
            else:
                data_term = model.unnormalized_log_prob(positive)
            return data_term.mean() - _phases.enumerated_log_partition(model)
        assert negative is not None
        negative = jax.lax.stop_gradient(negative)
        return (
            model.unnormalized_log_prob(positive).mean()
            - model.unnormalized_log_prob(negative).mean()
        )

    def _centre(
        self,
        gradient: Parameters,
        model: EnergyModel,
        positive: Array,
        offsets: tuple[Array, Array],
    ):
        assert isinstance(model, RBM)
        mu, lam = offsets
        g_w, g_a, g_b = gradient["weights"], gradient["visible_bias"], gradient["hidden_bias"]
        centred_w = g_w - jnp.outer(mu, g_b) - jnp.outer(g_a, lam)
        centred = {
            "weights": centred_w,
            "visible_bias": g_a - centred_w @ lam,
            "hidden_bias": g_b - centred_w.T @ mu,
        }
        activation = model.hidden_given_visible(positive).mean(axis=0)
        return centred, (mu, (1 - HIDDEN_OFFSET_RATE) * lam + HIDDEN_OFFSET_RATE * activation)


#: compiled trainers of recent configurations (a repeated or resumed fit does not recompile)
_TRAINERS: collections.OrderedDict[tuple, _Trainer] = collections.OrderedDict()
_MAX_TRAINERS = 8


def _structure_key(model: EnergyModel) -> tuple:
    """What a compiled trainer depends on besides the trainable parameters: the model's tree
    structure and every other array (graph, colouring, beta), by value."""
    template = rebuilder(model)(jax.tree_util.tree_map(jnp.zeros_like, parameters_of(model)))
    leaves, tree = jax.tree_util.tree_flatten(template)
    digests = tuple(
        hashlib.sha1(np.ascontiguousarray(np.asarray(leaf)).tobytes()).hexdigest()
        + str(np.shape(leaf))
        for leaf in leaves
    )
    return (type(model), tree, digests)


def _trainer(model: EnergyModel, settings: _Settings) -> _Trainer:
    key = (_structure_key(model), settings)
    trainer = _TRAINERS.get(key)
    if trainer is None:
        trainer = _TRAINERS[key] = _Trainer(model, settings)
        while len(_TRAINERS) > _MAX_TRAINERS:
            _TRAINERS.popitem(last=False)
    _TRAINERS.move_to_end(key)
    return trainer


# -- monitoring ------------------------------------------------------------------------------
def divergence_message(history: History) -> str | None:
    """A message when the latest evaluated log-likelihood lies clearly below the best one
    (by 3 combined standard errors plus max(0.5 nats, 2.5%)) while the reconstruction error or
    the pseudo-likelihood is better than at the best epoch: the divergence that those proxies
    cannot see (Fischer & Igel, *Empirical analysis of the divergence of Gibbs sampling based
    learning algorithms for RBMs*, ICANN 2010)."""
    if len(history.log_likelihood) < 2:
        return None
    values = np.asarray(history.log_likelihood[:-1])
    if np.all(np.isnan(values)) or math.isnan(history.log_likelihood[-1]):
        return None
    best = int(np.nanargmax(values))
    best_value, now = values[best], history.log_likelihood[-1]
    noise = math.hypot(history.stderr[best], history.stderr[-1])
    margin = 3 * noise + max(0.5, 0.025 * abs(best_value))
    if now >= best_value - margin:
        return None
    proxies = []
    if history.reconstruction_error[-1] < history.reconstruction_error[best]:
        proxies.append(
            f"the reconstruction error improved ({history.reconstruction_error[best]:.4f} -> "
            f"{history.reconstruction_error[-1]:.4f})"
        )
    if history.pseudo_log_likelihood[-1] > history.pseudo_log_likelihood[best]:
        proxies.append(
            f"the pseudo-likelihood improved ({history.pseudo_log_likelihood[best]:.3f} -> "
            f"{history.pseudo_log_likelihood[-1]:.3f})"
        )
    if not proxies:
        return None
    return (
        f"the held-out log-likelihood fell from {best_value:.3f} (epoch {history.epoch[best]}) "
        f"to {now:.3f} (epoch {history.epoch[-1]}) while {' and '.join(proxies)}: training is "
        "diverging. Lower the learning rate, use more Gibbs sweeps or method='pt-pcd', or keep "
        f"the model of epoch {history.epoch[best]}"
    )


# -- the entry point -------------------------------------------------------------------------
def fit(
    model: EnergyModel,
    data: Any,
    *,
    num_epochs: int,
    rng_key: jax.Array,
    method: str = "pcd",
    batch_size: int | None = None,
    optimizer: optax.GradientTransformation | None = None,
    num_sweeps: int = 1,
    num_chains: int | None = None,
    num_replicas: int = 10,
    hidden: Sequence[Any] | None = None,
    centered: bool = False,
    eval_data: Any = None,
    eval_every: int | None = None,
    ais_options: dict[str, Any] | None = None,
    checkpoint: str | None = None,
    checkpoint_every: int | None = None,
    resume_from: str | None = None,
    callback: Callable[[int, EnergyModel, History], bool | None] | None = None,
    progress_bar: bool = True,
) -> FitResult:
    """Fit ``model`` to binary ``data`` by maximum likelihood (see the module docstring).

    Args:
        model: the starting point: an :class:`~physsamp.RBM`, a
            :class:`~physsamp.BoltzmannMachine` or an :class:`~physsamp.Ising` model (for
            example from ``RBM.random``); its graph and beta stay fixed.
        data: ``[rows, visible]`` in the model's units (0/1, or -1/+1 for Ising).
        num_epochs: passes over the data (in total, when resuming).
        rng_key: a JAX key; the same key gives the same model bit for bit.
        method: "cd", "pcd" (default), "pt-pcd", "exact" or "pseudolikelihood".
        batch_size: rows per gradient step (default 10 for the sampling methods, every row
            for the deterministic ones).
        optimizer: an optax transformation (default :func:`default_optimizer`); it sees the
            negative log-likelihood's gradient, so weight decay is
            ``optax.chain(optax.add_decayed_weights(1e-4), optax.sgd(...))``.
        num_sweeps: k of CD-k / PCD-k: block Gibbs sweeps per step (also the clamped sweeps of
            hidden units).
        num_chains: persistent chains (default 30 for "pcd"; 10 ladders for "pt-pcd").
        num_replicas: temperatures per chain for "pt-pcd" (evenly spaced from beta = 0).
        hidden: for a Boltzmann machine with hidden units, their node labels; the data's
            columns are then the other units, in node order.
        centered: centred gradients (RBMs).
        eval_data: rows to score (default: the training data).
        eval_every: epochs between evaluations (default: a tenth of the run); the first and
            the last epoch are always evaluated. Exact log-likelihood when enumerable (an RBM's
            smaller layer, or a pairwise model, of at most 24 units), AIS otherwise.
        ais_options: keyword arguments for the AIS estimate (default 1,000 betas, 100 runs).
        checkpoint: a path: the state and history are written there (atomically) every
            ``checkpoint_every`` epochs (default: at every evaluation) and at the end.
        resume_from: a checkpoint written by an earlier run with the same arguments: training
            continues from its epoch.
        callback: called after every epoch as ``callback(epoch, model, history)``; returning
            True stops training.
        progress_bar: a tqdm bar with the reconstruction error and the last log-likelihood.

    Returns:
        :class:`FitResult` with ``model``, ``history`` and ``state``.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> data = np.random.default_rng(0).integers(0, 2, (200, 8))
        >>> start = ps.RBM.random(8, 3, jax.random.key(0))
        >>> result = ps.train.fit(start, data, num_epochs=5, rng_key=jax.random.key(1),
        ...                       progress_bar=False)
        >>> type(result.model).__name__, result.history.epoch
        ('RBM', [0, 1, 2, 3, 4, 5])
        >>> result.history.log_likelihood_method
        'exact'
    """
    from physsamp.train import checkpoint as checkpoints

    if not isinstance(model, RBM | PairwiseModel):
        parameters_of(model)  # raises a TypeError that names the type
    layout = _layout(model, hidden)
    centered = bool(centered)
    _check_method(method, model, layout, centered)
    num_epochs = _positive_integer(num_epochs, "num_epochs")
    rows = check_data(model, data, layout.visible.size)
    eval_rows = (
        rows
        if eval_data is None
        else check_data(model, eval_data, layout.visible.size, "eval_data")
    )
    if batch_size is None:
        batch_size = min(10, rows.shape[0]) if method in SAMPLING_METHODS else rows.shape[0]
    batch_size = _positive_integer(batch_size, "batch_size")
    if batch_size > rows.shape[0]:
        raise ValueError(f"batch_size {batch_size} is larger than the data ({rows.shape[0]} rows)")
    if num_chains is None:
        num_chains = {"pcd": 30, "pt-pcd": 10}.get(method, batch_size)
    num_chains = _positive_integer(num_chains, "num_chains")
    num_sweeps = _positive_integer(num_sweeps, "num_sweeps")
    if method == "pt-pcd" and _positive_integer(num_replicas, "num_replicas") < 2:
        raise ValueError("pt-pcd needs num_replicas >= 2")
    eval_every = (
        max(1, num_epochs // 10)
        if eval_every is None
        else _positive_integer(eval_every, "eval_every")
    )
    checkpoint_every = (
        eval_every
        if checkpoint_every is None
        else _positive_integer(checkpoint_every, "checkpoint_every")
    )
    optimizer_name = "given"
    if optimizer is None:
        num_steps = num_epochs * (rows.shape[0] // batch_size)
        full_batch = batch_size == rows.shape[0]
        optimizer = default_optimizer(method, num_steps, full_batch)
        # The default schedule spans the run: a resumed run must keep its length.
        optimizer_name = f"default({method}, {num_steps} steps, full batch {full_batch})"

    config = {
        "model": type(model).__name__,
        "method": method,
        "batch_size": batch_size,
        "num_sweeps": num_sweeps,
        "num_chains": num_chains,
        "num_replicas": int(num_replicas),
        "hidden": layout.hidden.tolist(),
        "centered": centered,
        "rows": int(rows.shape[0]),
        "optimizer": optimizer_name,
    }
    if resume_from is not None:  # read and check before anything is compiled
        meta, leaves = checkpoints.read_checkpoint(resume_from)
        checkpoints.check_config(meta, config, resume_from)
    settings = _Settings(
        num_rows=int(rows.shape[0]),
        method=method,
        batch_size=batch_size,
        optimizer=optimizer,
        num_sweeps=num_sweeps,
        num_chains=num_chains,
        num_replicas=int(num_replicas),
        visible=tuple(layout.visible.tolist()),
        hidden=tuple(layout.hidden.tolist()),
        centered=centered,
    )
    trainer = _trainer(model, settings)
    key_state, key_eval = jax.random.split(rng_key)
    device_rows = jnp.asarray(rows)
    state = trainer.init(key_state, device_rows, model)
    history = History()
    if resume_from is not None:
        state = checkpoints.restore(meta, leaves, state, resume_from)
        history = History.from_dict(meta["history"])
    start = int(state.epoch)
    ais = {"num_betas": 1000, "num_runs": 100, "progress_bar": False, **(ais_options or {})}
    elapsed = history.seconds[-1] if history.seconds else 0.0

    def evaluate_now(epoch: int) -> None:
        current = trainer.rebuild(state.parameters)
        _check_finite(state.parameters, epoch)
        result = evaluate(
            current, eval_rows, jax.random.fold_in(key_eval, epoch), hidden=hidden, ais_options=ais
        )
        history.record(epoch, result, elapsed)
        message = divergence_message(history)
        if message is not None and not history.warnings:
            history.warnings.append(message)
            history.warning_epochs.append(int(epoch))
            warnings.warn(message, TrainingDivergenceWarning, stacklevel=3)

    if start == 0 and not history.epoch:
        evaluate_now(0)
    bar = tqdm(
        total=num_epochs,
        initial=start,
        disable=not progress_bar,
        desc=f"fit ({method})",
        unit="epoch",
    )
    try:
        for epoch in range(start + 1, num_epochs + 1):
            began = time.perf_counter()
            state, error = trainer.epoch(state, device_rows)
            error = float(error)
            elapsed += time.perf_counter() - began
            history.train_reconstruction_error.append(error)
            if epoch % eval_every == 0 or epoch == num_epochs:
                evaluate_now(epoch)
            if checkpoint is not None and (epoch % checkpoint_every == 0 or epoch == num_epochs):
                checkpoints.save_checkpoint(checkpoint, state, history, config)
            bar.update(1)
            postfix = {"recon": f"{error:.4f}"}
            if history.log_likelihood:
                postfix["log-lik"] = f"{history.log_likelihood[-1]:.3f}"
            bar.set_postfix(postfix)
            if callback is not None and callback(epoch, trainer.rebuild(state.parameters), history):
                break
    finally:
        bar.close()
    return FitResult(_concrete(trainer.rebuild(state.parameters)), history, state, method)


def _check_finite(parameters: Parameters, epoch: int) -> None:
    for name, value in parameters.items():
        if not bool(jnp.all(jnp.isfinite(value))):
            raise FloatingPointError(
                f"training diverged: the {name} are not finite after epoch {epoch}; lower the "
                "learning rate"
            )


def _concrete(model: EnergyModel) -> EnergyModel:
    """The trained model with numpy-backed leaves materialised (no pending computations)."""
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf), model)
