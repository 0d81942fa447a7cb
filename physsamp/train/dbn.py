r"""Deep belief networks: a stack of RBMs trained greedily, sampled top-down, and scored by a
variational lower bound on the log-likelihood.

A DBN with layers :math:`h_0 = v, h_1, \dots, h_L` is the generative model whose top two layers
form an RBM (undirected) and whose lower layers are directed, each drawn from the factorial
conditional of its own RBM:

.. math:: p(v, h_1, \dots, h_{L-1}) = p_\text{top}(h_{L-1}) \prod_{l=1}^{L-1} p_l(h_{l-1} \mid h_l),

with :math:`p_\text{top}` the top RBM's marginal over its visible layer (its hidden layer
:math:`h_L` summed out). :func:`fit_dbn` trains it greedily, layer by layer (Hinton, Osindero &
Teh, *A fast learning algorithm for deep belief nets*, Neural Computation 18, 1527 (2006)): an
RBM on the data, then an RBM on its hidden units driven by the data, and so on.
:meth:`DBN.sample` runs block Gibbs in the top RBM and one pass down the directed layers.

The log-likelihood itself is out of reach (the lower layers' hidden units would have to be
summed out), but each RBM's conditional :math:`Q(h_l \mid h_{l-1}) = p_l(h_l \mid h_{l-1})`
is a factorial recognition distribution, and Jensen's inequality gives
(Salakhutdinov & Murray, *On the quantitative analysis of deep belief networks*, ICML 2008,
eq. 10 for two layers)

.. math:: \log p(v) \ge \mathbb{E}_Q\Bigl[\log p^*_\text{top}(h_{L-1}) - \log Z_\text{top}
   + \sum_{l=1}^{L-1} \log p_l(h_{l-1} \mid h_l)\Bigr] + \mathcal H(Q),

where :math:`Q(h_1, \dots, h_{L-1} \mid v) = \prod_l Q(h_l \mid h_{l-1})` and its entropy is
:math:`\mathcal H(Q) = \sum_l \mathbb{E}_Q\, \mathcal H(Q(\cdot \mid h_{l-1}))`.
:func:`dbn_lower_bound` estimates it (see there).

Example:
    >>> import jax, numpy as np, physsamp as ps
    >>> key_bottom, key_top, key_bound, key_sample = jax.random.split(jax.random.key(0), 4)
    >>> dbn = ps.train.DBN((ps.RBM.random(6, 4, key_bottom, scale=1.0),
    ...                     ps.RBM.random(4, 3, key_top, scale=1.0)))
    >>> data = np.random.default_rng(0).integers(0, 2, (20, 6))
    >>> bound = ps.train.dbn_lower_bound(dbn, data, key_bound, num_samples=50)
    >>> print(bound)  # doctest: +ELLIPSIS
    log-likelihood >= ... (log Z exact, 50 draws of Q per row) ± ... (data, 20 rows)
    >>> dbn.sample(key_sample, 3, num_sweeps=10).shape
    (3, 6)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int8

from physsamp import exact
from physsamp.infer.ais import AISResult, ais_log_partition, base_rate_bias
from physsamp.kernels import block_gibbs
from physsamp.models.base import matmul
from physsamp.models.rbm import RBM
from physsamp.train._data import check_data
from physsamp.train.fit import History, _positive_integer, fit

#: the top RBM's log Z is computed exactly when its smaller layer has at most this many units
MAX_EXACT_LOG_PARTITION_UNITS = 20

#: options of :func:`fit` that cannot be shared by the layers of one greedy run
_PER_RUN_OPTIONS = ("checkpoint", "checkpoint_every", "resume_from", "hidden")


# -- the network ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class DBN:
    """A deep belief network: a stack of RBMs ``layers``, bottom first, where the hidden layer
    of each RBM is the visible layer of the next. The top RBM is the undirected prior over its
    visible units; every lower RBM contributes its conditional :math:`p(v \\mid h)` as a
    directed layer (see the module docstring). A JAX pytree: it can be passed to jitted
    functions.

    Example:
        >>> import jax, physsamp as ps
        >>> key_bottom, key_top = jax.random.split(jax.random.key(0))
        >>> dbn = ps.train.DBN((ps.RBM.random(6, 4, key_bottom), ps.RBM.random(4, 3, key_top)))
        >>> dbn.layer_sizes, dbn.num_visible
        ((6, 4, 3), 6)
    """

    layers: tuple[RBM, ...]

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a DBN needs at least one RBM layer")
        for index, layer in enumerate(layers):
            if not isinstance(layer, RBM):
                raise TypeError(f"DBN layer {index} must be an RBM, got {type(layer).__name__}")
        for index, (lower, upper) in enumerate(itertools.pairwise(layers)):
            if lower.num_hidden != upper.num_visible:
                raise ValueError(
                    f"DBN layer {index + 1} has {upper.num_visible} visible units, but layer "
                    f"{index} below it has {lower.num_hidden} hidden units; they must match"
                )
        object.__setattr__(self, "layers", layers)

    @property
    def num_layers(self) -> int:
        """The number of RBMs."""
        return len(self.layers)

    @property
    def num_visible(self) -> int:
        return self.layers[0].num_visible

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """The number of units of every layer, visible first, ``(v, h_1, ..., h_L)``."""
        return (self.num_visible, *(layer.num_hidden for layer in self.layers))

    def __repr__(self) -> str:
        return f"DBN(layer_sizes={self.layer_sizes})"

    def sample(
        self,
        rng_key: jax.Array,
        num_samples: int,
        num_sweeps: int = 1000,
        *,
        return_probabilities: bool = False,
    ) -> Int8[Array, "samples visible"] | Float[Array, "samples visible"]:
        r"""Draw visible configurations from the DBN: ``num_samples`` independent chains of
        ``num_sweeps`` block Gibbs sweeps (:mod:`physsamp.kernels.block_gibbs`) in the top RBM,
        started from uniform units, then a pass down, each lower layer drawn from
        :math:`p_l(h_{l-1} \mid h_l)`. The top chains must mix within ``num_sweeps`` for the
        samples to follow the model.

        ``return_probabilities``: return :math:`p(v_i = 1 \mid h_1)` (float32) instead of
        drawing the visible layer (smoother pictures, and an unbiased estimate of the
        visible marginals).

        Example:
            >>> import jax, physsamp as ps
            >>> key_bottom, key_top, key_sample = jax.random.split(jax.random.key(0), 3)
            >>> dbn = ps.train.DBN((ps.RBM.random(6, 4, key_bottom),
            ...                     ps.RBM.random(4, 3, key_top)))
            >>> dbn.sample(key_sample, 3, num_sweeps=10).dtype
            dtype('int8')
        """
        num_samples = _positive_integer(num_samples, "num_samples")
        num_sweeps = _positive_integer(num_sweeps, "num_sweeps")
        return _sample(rng_key, self, num_samples, num_sweeps, bool(return_probabilities))


def _flatten(dbn: DBN) -> tuple[tuple[RBM, ...], None]:
    return dbn.layers, None


def _unflatten(_: None, layers: Any) -> DBN:
    # Inside transformations the leaves may be tracers or placeholders: no validation.
    dbn = object.__new__(DBN)
    object.__setattr__(dbn, "layers", tuple(layers))
    return dbn


jax.tree_util.register_pytree_node(DBN, _flatten, _unflatten)


@partial(jax.jit, static_argnames=("num_samples", "num_sweeps", "return_probabilities"))
def _sample(
    rng_key: jax.Array, dbn: DBN, num_samples: int, num_sweeps: int, return_probabilities: bool
) -> Array:
    top = dbn.layers[-1]
    lower = dbn.layers[:-1]
    key_start, key_chains, key_down = jax.random.split(rng_key, 3)
    starts = top.uniform_configuration(key_start, (num_samples,))
    states = jax.vmap(block_gibbs.init, (0, None))(starts, top)
    step = block_gibbs.build_kernel(num_sweeps)
    chain_keys = jax.random.split(key_chains, num_samples)
    states, _ = jax.vmap(step, (0, 0, None))(chain_keys, states, top)
    if not lower:
        if return_probabilities:
            return top.visible_given_hidden(states.hidden)
        return states.position
    units = states.position
    down_keys = jax.random.split(key_down, len(lower))
    for index in range(len(lower) - 1, -1, -1):
        probabilities = lower[index].visible_given_hidden(units)
        if index == 0 and return_probabilities:
            return probabilities
        units = jax.random.bernoulli(down_keys[index], probabilities).astype(jnp.int8)
    return units


# -- greedy training --------------------------------------------------------------------------
@dataclasses.dataclass
class DBNResult:
    """The outcome of :func:`fit_dbn`: the trained ``dbn``, each layer's training ``histories``
    (bottom first; a :class:`~physsamp.train.History` per RBM) and the ``method``."""

    dbn: DBN
    histories: tuple[History, ...]
    method: str

    def __str__(self) -> str:
        lines = [f"DBN {self.dbn.layer_sizes} trained greedily by {self.method}"]
        for index, history in enumerate(self.histories):
            if history.log_likelihood:
                lines.append(
                    f"layer {index}: log-likelihood of its data {history.log_likelihood[-1]:.4f}"
                    f" ± {history.stderr[-1]:.2g} ({history.log_likelihood_method})"
                )
        return "\n".join(lines)


def _hidden_sizes(hidden_sizes: Any) -> tuple[int, ...]:
    if isinstance(hidden_sizes, int | np.integer):
        hidden_sizes = (hidden_sizes,)
    sizes = tuple(hidden_sizes)
    if not sizes:
        raise ValueError("hidden_sizes is empty: give the number of hidden units of each layer")
    return tuple(
        _positive_integer(size, f"hidden_sizes[{index}]") for index, size in enumerate(sizes)
    )


def _epochs_per_layer(num_epochs: Any, num_layers: int) -> tuple[int, ...]:
    if isinstance(num_epochs, Sequence | np.ndarray):
        epochs = tuple(num_epochs)
        if len(epochs) != num_layers:
            raise ValueError(
                f"num_epochs gives {len(epochs)} values for {num_layers} layers; give one per "
                "layer or a single integer"
            )
    else:
        epochs = (num_epochs,) * num_layers
    return tuple(_positive_integer(value, "num_epochs") for value in epochs)


def _visible_columns(data: Any, what: str) -> int:
    """The row length of ``data``, to check it against; ``check_data`` reports the rest."""
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be a numeric array [rows, visible]") from error
    if array.size == 0:
        raise ValueError(f"{what} is empty: it has no rows")
    return int(array.shape[-1]) if array.ndim >= 1 else 1


@jax.jit
def _propagate(rng_key: jax.Array, rbm: RBM, rows: Array) -> Array:
    return jax.random.bernoulli(rng_key, rbm.hidden_given_visible(rows)).astype(jnp.int8)


def fit_dbn(
    data: Any,
    hidden_sizes: Sequence[int],
    *,
    num_epochs: int | Sequence[int],
    rng_key: jax.Array,
    method: str = "pcd",
    propagate: str = "sample",
    scale: float = 0.01,
    **fit_options: Any,
) -> DBNResult:
    r"""Train a deep belief network greedily, one RBM at a time (Hinton, Osindero & Teh 2006).

    Layer 0 is an RBM with ``hidden_sizes[0]`` hidden units trained on ``data`` by
    :func:`~physsamp.train.fit`, from ``RBM.random`` (weights of standard deviation
    ``scale``, zero biases). Each row is then sent up: its hidden units are drawn from
    :math:`p(h \mid v)` (``propagate="sample"``, the only choice: :func:`fit` trains on binary
    data, so the probabilities themselves cannot be the next layer's data), and layer 1 is
    trained on those rows, and so on. ``eval_data``, when given, is sent up the same way so
    that each layer is scored on held-out rows of its own units.

    Args:
        data: binary rows ``[rows, visible]`` (0/1).
        hidden_sizes: hidden units of each RBM, bottom first (the DBN's layer sizes are
            ``(visible, *hidden_sizes)``); one integer for a single RBM.
        num_epochs: epochs per layer: one integer for all, or one per layer.
        rng_key: a JAX key; the same key gives the same DBN bit for bit (each layer takes its
            own subkey for its starting weights, its training and the pass up).
        method: the training method of every layer (see :func:`fit`).
        propagate: how rows go up to the next layer: "sample".
        scale: the standard deviation of the starting weights.
        **fit_options: passed to every call of :func:`fit` (``batch_size``, ``optimizer``,
            ``num_sweeps``, ``eval_every``, ``ais_options``, ``progress_bar``...). Checkpoints
            are per RBM: train the layers with :func:`fit` yourself to keep them.

    Returns:
        :class:`DBNResult` with ``dbn`` and one ``History`` per layer.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> data = np.random.default_rng(0).integers(0, 2, (60, 6))
        >>> result = ps.train.fit_dbn(data, (4, 3), num_epochs=(2, 1), rng_key=jax.random.key(0),
        ...                           progress_bar=False)
        >>> [history.epoch for history in result.histories]
        [[0, 1, 2], [0, 1]]
    """
    sizes = _hidden_sizes(hidden_sizes)
    epochs = _epochs_per_layer(num_epochs, len(sizes))
    if propagate != "sample":
        raise ValueError(
            f"propagate must be 'sample', got {propagate!r}: each layer is trained by fit on "
            "binary rows, so the hidden units are drawn from p(h | v) rather than passed up "
            "as probabilities"
        )
    refused = [name for name in _PER_RUN_OPTIONS if name in fit_options]
    if refused:
        raise ValueError(
            f"fit_dbn does not take {', '.join(refused)}: they belong to one RBM; train the "
            "layers one by one with ps.train.fit to use them"
        )
    num_visible = _visible_columns(data, "data")
    units = RBM(np.zeros((num_visible, 1)))  # only its unit convention (0/1) is read
    rows = check_data(units, data, num_visible)
    eval_data = fit_options.pop("eval_data", None)
    eval_rows = None if eval_data is None else check_data(units, eval_data, num_visible,
                                                          "eval_data")  # fmt: skip

    layers: list[RBM] = []
    histories: list[History] = []
    layer_keys = jax.random.split(rng_key, len(sizes))
    for index, (size, layer_epochs, layer_key) in enumerate(
        zip(sizes, epochs, layer_keys, strict=True)
    ):
        key_start, key_fit, key_up, key_up_eval = jax.random.split(layer_key, 4)
        start = RBM.random(rows.shape[1], size, key_start, scale=scale)
        result = fit(start, rows, num_epochs=layer_epochs, rng_key=key_fit, method=method,
                     eval_data=eval_rows, **fit_options)  # fmt: skip
        assert isinstance(result.model, RBM)
        layers.append(result.model)
        histories.append(result.history)
        if index + 1 < len(sizes):
            rows = np.asarray(_propagate(key_up, result.model, rows))
            if eval_rows is not None:
                eval_rows = np.asarray(_propagate(key_up_eval, result.model, eval_rows))
    return DBNResult(DBN(tuple(layers)), tuple(histories), method)


# -- the variational lower bound --------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class DBNLowerBound:
    r"""A variational lower bound on the average log-likelihood of data rows under a DBN
    (nats per row; see :func:`dbn_lower_bound`).

    ``mean``: the estimate of the average bound; ``stderr``: its standard error, the AIS
    standard error of :math:`\log Z_\text{top}` and the Monte Carlo standard error of the
    expectation over :math:`Q` combined in quadrature (``log_z_stderr``,
    ``monte_carlo_stderr``); ``data_stderr``: the standard error of the average over rows
    (the spread of the data, for comparing models on the same rows); ``method``: how
    :math:`\log Z_\text{top}` was found, "exact" or "ais"; ``log_probs``: each row's bound;
    ``log_z``: :math:`\log Z_\text{top}`; ``num_samples``: draws of :math:`Q` per row;
    ``ais``: the AIS result (None when exact), whose ``warning`` says when not to trust it.
    """

    mean: float
    stderr: float
    data_stderr: float
    method: str
    log_probs: np.ndarray
    log_z: float
    log_z_stderr: float
    monte_carlo_stderr: float
    num_samples: int
    ais: AISResult | None = None

    def __str__(self) -> str:
        text = (
            f"log-likelihood >= {self.mean:.4f} ± {self.stderr:.2g} (log Z {self.method}, "
            f"{self.num_samples} draws of Q per row) ± {self.data_stderr:.2g} (data, "
            f"{self.log_probs.size} rows)"
        )
        if self.ais is not None and self.ais.warning:
            text += f"\nwarning: {self.ais.warning}"
        return text


def _bernoulli_log_prob(units: Array, logits: Array) -> Array:
    return (units * logits - jax.nn.softplus(logits)).sum(-1)


def _bernoulli_entropy(logits: Array) -> Array:
    return (jax.nn.softplus(logits) - jax.nn.sigmoid(logits) * logits).sum(-1)


def _row_bound(rng_key: jax.Array, dbn: DBN, row: Array, num_samples: int):
    """``num_samples`` draws of the bound's integrand (without :math:`-\\log Z_\\text{top}`)
    for one row: their mean, their variance and the mean of the top RBM's visible units."""
    units = jnp.broadcast_to(row.astype(jnp.float32), (num_samples, row.shape[-1]))
    total = jnp.zeros(num_samples, jnp.float32)
    lower = dbn.layers[:-1]
    layer_keys = jax.random.split(rng_key, len(lower))
    for rbm, layer_key in zip(lower, layer_keys, strict=True):
        up_logits = rbm.beta * (matmul(units, rbm.weights) + rbm.hidden_bias)
        hidden = jax.random.bernoulli(layer_key, jax.nn.sigmoid(up_logits)).astype(jnp.float32)
        down_logits = rbm.beta * (matmul(hidden, rbm.weights.T) + rbm.visible_bias)
        total = total + _bernoulli_log_prob(units, down_logits) + _bernoulli_entropy(up_logits)
        units = hidden
    total = total + dbn.layers[-1].unnormalized_log_prob(units)
    variance = total.var(ddof=1) if num_samples > 1 else jnp.zeros((), jnp.float32)
    return total.mean(), variance, units.mean(axis=0)


@partial(jax.jit, static_argnames=("num_samples",))
def _sampled_bound(rng_key: jax.Array, dbn: DBN, rows: Array, num_samples: int):
    row_keys = jax.random.split(rng_key, rows.shape[0])
    # about 2^14 draws of every layer at once, whatever num_samples is
    batch_size = max(1, 16384 // num_samples)
    return jax.lax.map(lambda args: _row_bound(args[0], dbn, args[1], num_samples),
                       (row_keys, rows), batch_size=batch_size)  # fmt: skip


def dbn_lower_bound(
    dbn: DBN,
    data: Any,
    rng_key: jax.Array,
    *,
    num_samples: int = 100,
    log_partition: str = "auto",
    ais_options: dict[str, Any] | None = None,
) -> DBNLowerBound:
    r"""Estimate the variational lower bound on :math:`\frac1n \sum_d \log p(v_d)` of a DBN
    (Salakhutdinov & Murray, ICML 2008; the module docstring has the formula).

    For each row, ``num_samples`` independent draws of the recognition chain
    :math:`h_l \sim Q(h_l \mid h_{l-1})` give Monte Carlo estimates of the expectation; given
    its sampled parent, each factorial :math:`Q`'s entropy is exact,
    :math:`\sum_j \mathrm{softplus}(z_j) - \sigma(z_j) z_j` with :math:`z` its logits.
    :math:`\log Z_\text{top}` is exact (float64 enumeration) when the top RBM's smaller layer
    has at most 20 units, otherwise an AIS estimate (:func:`~physsamp.infer.ais_log_partition`
    with ``ais_options``, default 1,000 betas and 100 runs, and the base-rate model of the
    top RBM's sampled visible units). For a one-layer DBN the bound is the RBM's
    log-likelihood.

    Args:
        dbn: the network.
        data: binary rows ``[rows, visible]``.
        rng_key: a JAX key (for the draws of :math:`Q` and AIS).
        num_samples: draws of :math:`Q` per row (at least 2, for the Monte Carlo standard
            error).
        log_partition: "auto", "exact" or "ais": how to find :math:`\log Z_\text{top}`.
        ais_options: keyword arguments for :func:`~physsamp.infer.ais_log_partition`.

    Returns:
        :class:`DBNLowerBound` (``mean``, ``stderr``, ``data_stderr``, ``method``,
        ``log_probs``...). Forward AIS underestimates :math:`\log Z` in expectation, so with
        too few betas the "bound" can exceed the true log-likelihood.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> key_bottom, key_top, key_bound = jax.random.split(jax.random.key(0), 3)
        >>> dbn = ps.train.DBN((ps.RBM.random(6, 4, key_bottom, scale=1.0),
        ...                     ps.RBM.random(4, 3, key_top, scale=1.0)))
        >>> data = np.random.default_rng(0).integers(0, 2, (20, 6))
        >>> bound = ps.train.dbn_lower_bound(dbn, data, key_bound, num_samples=50)
        >>> bound.method, bound.log_probs.shape
        ('exact', (20,))
    """
    if not isinstance(dbn, DBN):
        raise TypeError(f"dbn_lower_bound needs a DBN, got {type(dbn).__name__}")
    num_samples = _positive_integer(num_samples, "num_samples")
    if num_samples < 2:
        raise ValueError("num_samples must be at least 2 to estimate the Monte Carlo error")
    if log_partition not in ("auto", "exact", "ais"):
        raise ValueError(f"log_partition must be 'auto', 'exact' or 'ais', got {log_partition!r}")
    top = dbn.layers[-1]
    smaller_layer = min(top.num_visible, top.num_hidden)
    if log_partition == "exact" and smaller_layer > MAX_EXACT_LOG_PARTITION_UNITS:
        raise ValueError(
            f"the top RBM's smaller layer has {smaller_layer} units; exact log Z enumerates "
            f"at most {MAX_EXACT_LOG_PARTITION_UNITS}. Use log_partition='ais'"
        )
    rows = check_data(dbn.layers[0], data, dbn.num_visible)
    draws = num_samples if dbn.num_layers > 1 else 2  # one layer: nothing is drawn
    key_draws, key_ais = jax.random.split(rng_key)
    means, variances, top_units = _sampled_bound(key_draws, dbn, jnp.asarray(rows), draws)
    integrand = np.asarray(means, np.float64)
    variances = np.asarray(variances, np.float64)
    use_exact = log_partition == "exact" or (
        log_partition == "auto" and smaller_layer <= MAX_EXACT_LOG_PARTITION_UNITS
    )
    ais_result = None
    if use_exact:
        log_z, log_z_stderr = exact.log_partition(top), 0.0
    else:
        options = {"num_betas": 1000, "num_runs": 100, "progress_bar": False,
                   **(ais_options or {})}  # fmt: skip
        options.setdefault("base_visible_bias", base_rate_bias(np.asarray(top_units)))
        ais_result = ais_log_partition(top, key_ais, **options)
        log_z, log_z_stderr = ais_result.log_z, ais_result.stderr
    log_probs = integrand - log_z
    num_rows = rows.shape[0]
    monte_carlo_stderr = float(math.sqrt(variances.sum() / draws) / num_rows)
    data_stderr = float(log_probs.std(ddof=1) / math.sqrt(num_rows)) if num_rows > 1 else 0.0
    return DBNLowerBound(
        mean=float(log_probs.mean()),
        stderr=math.hypot(log_z_stderr, monte_carlo_stderr),
        data_stderr=data_stderr,
        method="exact" if use_exact else "ais",
        log_probs=log_probs,
        log_z=float(log_z),
        log_z_stderr=float(log_z_stderr),
        monte_carlo_stderr=monte_carlo_stderr,
        num_samples=num_samples,
        ais=ais_result,
    )
