r"""Scores of a trained model on data: the average log-likelihood (exact by enumeration where
possible, AIS with its standard error otherwise), the pseudo-likelihood (which scikit-learn's
``BernoulliRBM.score_samples`` estimates), and the reconstruction error.

Only the log-likelihood sees the truth: the other two can keep improving while the model
degrades (see :func:`physsamp.train.fit.divergence_message`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from physsamp import exact
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM
from physsamp.train import _phases
from physsamp.train._data import check_data

#: the most enumerated units for an exact log-likelihood
MAX_EXACT_UNITS = exact.MAX_SITES


@dataclasses.dataclass(frozen=True)
class LogLikelihood:
    """The average log-likelihood of data rows (nats per row).

    ``mean``; ``stderr``: the standard error of the estimate of :math:`\\log Z` (0 when
    exact); ``data_stderr``: the standard error of the average over rows (the spread of the
    data, for comparing models on the same rows); ``method``: "exact", "ais" or "none";
    ``log_probs``: each row's :math:`\\log p(v)`.
    """

    mean: float
    stderr: float
    data_stderr: float
    method: str
    log_probs: np.ndarray

    def __str__(self) -> str:
        return (
            f"log-likelihood {self.mean:.4f} ± {self.stderr:.2g} ({self.method}) "
            f"± {self.data_stderr:.2g} (data, {self.log_probs.size} rows)"
        )


def hidden_sites(model: EnergyModel, hidden: Any) -> np.ndarray | None:
    """The site indices of the hidden units named by their node labels (None when there are
    none), checked: every label a node, none twice, at least one unit visible."""
    if hidden is None or len(hidden) == 0:
        return None
    if isinstance(model, RBM):
        raise ValueError("an RBM's hidden layer is implicit; pass hidden=None")
    index = {node: site for site, node in enumerate(model.nodes)}
    missing = [item for item in hidden if item not in index]
    if missing:
        raise ValueError(f"hidden unit {missing[0]!r} is not a node of the model")
    sites = np.unique(np.asarray([index[item] for item in hidden], np.int64))
    if sites.size != len(hidden):
        raise ValueError("hidden lists a unit twice")
    if sites.size == model.num_sites:
        raise ValueError("every unit is hidden; at least one must be visible")
    return sites


def _visible_units(model: EnergyModel, hidden: np.ndarray | None) -> int:
    if isinstance(model, RBM):
        return model.num_visible
    return model.num_sites - (0 if hidden is None else len(hidden))


def _summary(log_probs: np.ndarray, stderr: float, method: str) -> LogLikelihood:
    spread = float(log_probs.std(ddof=1) / np.sqrt(log_probs.size)) if log_probs.size > 1 else 0.0
    return LogLikelihood(float(log_probs.mean()), float(stderr), spread, method, log_probs)


def _enumerable(model: EnergyModel) -> bool:
    if isinstance(model, RBM):
        return min(model.num_visible, model.num_hidden) <= MAX_EXACT_UNITS
    return model.num_sites <= MAX_EXACT_UNITS


def log_likelihood(
    model: EnergyModel,
    data: Any,
    rng_key: jax.Array | None = None,
    *,
    method: str = "auto",
    hidden: Any = None,
    ais_options: dict[str, Any] | None = None,
) -> LogLikelihood:
    r"""The average :math:`\frac1n \sum_d \log p(v_d)` of ``data`` rows under ``model``.

    Exact (float64 enumeration) for an RBM whose smaller layer has at most 24 units and for a
    pairwise model of at most 24 units; otherwise :math:`\log Z` comes from AIS
    (:func:`physsamp.infer.ais_log_partition`, keyword arguments ``ais_options``) and the
    result carries its standard error. ``method``: "auto" (that choice), "exact" or "ais".
    ``hidden``: the node labels of a Boltzmann machine's hidden units, as given to
    :func:`physsamp.train.fit` (their states are summed out by enumeration).

    Example:
        >>> import numpy as np, physsamp as ps
        >>> rbm = ps.RBM(np.zeros((3, 2)))
        >>> round(ps.train.log_likelihood(rbm, np.ones((4, 3))).mean, 6)  # uniform: -log 8
        -2.079442
    """
    sites = hidden_sites(model, hidden)
    rows = check_data(model, data, _visible_units(model, sites))
    if method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
    if method == "exact" and not _enumerable(model):
        raise ValueError(
            f"an exact log-likelihood enumerates at most {MAX_EXACT_UNITS} units "
            "(an RBM's smaller layer); use method='ais'"
        )
    if method == "exact" or (method == "auto" and _enumerable(model)):
        log_z = exact.log_partition(model)
        if sites is None:
            log_weights = exact._log_weights(model, rows)
        else:
            log_weights = _visible_log_weights(model, rows, sites)
        return _summary(log_weights - log_z, 0.0, "exact")
    if sites is not None:
        nan = np.full(rows.shape[0], math.nan)
        return LogLikelihood(math.nan, math.nan, math.nan, "none", nan)
    from physsamp.infer.ais import ais_log_partition, base_rate_bias

    options = {"num_betas": 1000, "num_runs": 100, "progress_bar": False, **(ais_options or {})}
    if isinstance(model, RBM):
        options.setdefault("base_visible_bias", base_rate_bias(rows))
    key = jax.random.key(0) if rng_key is None else rng_key
    result = ais_log_partition(model, key, **options)
    log_weights = np.asarray(_unnormalised(model, jnp.asarray(rows)), np.float64)
    return _summary(log_weights - result.log_z, result.stderr, "ais")


def _visible_log_weights(model: EnergyModel, rows: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    r""":math:`\log \sum_h p^*(v, h)` in float64 by enumerating the hidden units."""
    visible = np.setdiff1d(np.arange(model.num_sites), hidden)
    states = exact._to_units(model, exact._bits(np.arange(2**hidden.size), hidden.size))
    out = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        x = np.empty((states.shape[0], model.num_sites), np.int8)
        x[:, visible] = row
        x[:, hidden] = states
        out[i] = exact._logsumexp(exact._log_weights(model, x))
    return out


@jax.jit
def _unnormalised(model: EnergyModel, rows: jax.Array) -> jax.Array:
    return jax.lax.map(model.unnormalized_log_prob, rows, batch_size=256)


@jax.jit
def _pseudo_log_likelihood(model: EnergyModel, rows: jax.Array) -> jax.Array:
    if isinstance(model, RBM):
        return jax.lax.map(lambda row: _rbm_pseudo_log_likelihood(model, row), rows, batch_size=16)
    assert isinstance(model, PairwiseModel)
    return _phases.pseudo_log_likelihood(model, rows)


def _rbm_pseudo_log_likelihood(model: RBM, row: jax.Array) -> jax.Array:
    r"""Every unit of one row flipped in turn: flipping unit i moves the hidden input by
    :math:`\pm\beta W_{i:}` and the visible term by :math:`\pm\beta a_i`."""
    v = row.astype(jnp.float32)
    sign = 1.0 - 2.0 * v  # +1 where the unit is off (flipping turns it on)
    hidden_input = model.beta * (v @ model.weights + model.hidden_bias)
    flipped_input = hidden_input[None, :] + model.beta * sign[:, None] * model.weights
    gain = model.beta * sign * model.visible_bias + (
        jax.nn.softplus(flipped_input).sum(-1) - jax.nn.softplus(hidden_input).sum()
    )
    return jax.nn.log_sigmoid(-gain).sum()


def pseudo_log_likelihood(model: EnergyModel, data: Any) -> float:
    r"""The average pseudo-log-likelihood :math:`\sum_i \log p(v_i \mid v_{-i})` per row
    (Besag 1975), every unit's conditional computed exactly (scikit-learn's
    ``BernoulliRBM.score_samples`` estimates the same sum from one random unit per row)."""
    if not isinstance(model, RBM | PairwiseModel):
        raise TypeError(f"no pseudo-likelihood for {type(model).__name__}")
    rows = check_data(model, data, _visible_units(model, None))
    return float(_pseudo_log_likelihood(model, jnp.asarray(rows)).mean())


@jax.jit
def _reconstruction_error(model: EnergyModel, rows: jax.Array) -> jax.Array:
    layout = _phases.Layout(np.arange(rows.shape[1]), np.zeros(0, np.int64))
    return _phases.reconstruction_error(model, rows, layout)


def reconstruction_error(model: EnergyModel, data: Any) -> float:
    r"""The mean squared error between visible rows and their mean-field reconstruction (an
    RBM: :math:`p(v \mid h = p(h \mid v))`; a pairwise model: each unit's conditional mean
    given the others), units scaled to 0/1."""
    rows = check_data(model, data, _visible_units(model, None))
    return float(_reconstruction_error(model, jnp.asarray(rows)))


def evaluate(
    model: EnergyModel,
    rows: np.ndarray,
    rng_key: jax.Array,
    *,
    hidden: Any = None,
    ais_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The log-likelihood, reconstruction error and pseudo-log-likelihood of ``rows`` (checked
    int8 data) in one dictionary; the last two are NaN for a model with hidden units."""
    likelihood = log_likelihood(model, rows, rng_key, hidden=hidden, ais_options=ais_options)
    if hidden is not None and len(hidden) > 0:
        return {
            "log_likelihood": likelihood,
            "reconstruction_error": math.nan,
            "pseudo_log_likelihood": math.nan,
        }
    device_rows = jnp.asarray(rows)
    return {
        "log_likelihood": likelihood,
        "reconstruction_error": float(_reconstruction_error(model, device_rows)),
        "pseudo_log_likelihood": float(_pseudo_log_likelihood(model, device_rows).mean()),
    }
