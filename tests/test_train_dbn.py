"""Deep belief networks: the variational lower bound and the sampler against enumeration of a
tiny network in float64, and greedy training."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from models_fixtures import random_rbm
from scipy import special, stats
from stats import ALPHA

import physsamp as ps
from physsamp.train import dbn as dbn_module


def tiny_dbn() -> ps.train.DBN:
    """Visible 6, hidden 4, top hidden 3; the bottom layer at beta 0.8 so that beta enters."""
    return ps.train.DBN((random_rbm(6, 4, beta=0.8, seed=1), random_rbm(4, 3, beta=1.0, seed=2)))


def all_states(num_units: int) -> np.ndarray:
    shifts = np.arange(num_units - 1, -1, -1)
    return ((np.arange(2**num_units)[:, None] >> shifts) & 1).astype(np.float64)


def arrays(rbm: ps.RBM) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    return (np.asarray(rbm.weights, np.float64), np.asarray(rbm.visible_bias, np.float64),
            np.asarray(rbm.hidden_bias, np.float64), float(rbm.beta))  # fmt: skip


def log_bernoulli(units: np.ndarray, logits: np.ndarray) -> np.ndarray:
    return (units * logits - np.logaddexp(0.0, logits)).sum(-1)


def exact_two_layer(dbn: ps.train.DBN, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``log p(v)`` and the exact lower bound ``sum_h Q(h|v) [log p(v, h) - log Q(h|v)]``
    by enumerating the middle layer ``h``, with ``p(v, h) = p(v | h) p_top(h)``."""
    bottom, top = dbn.layers
    weights, visible_bias, hidden_bias, beta = arrays(bottom)
    top_weights, top_visible_bias, top_hidden_bias, top_beta = arrays(top)
    middle = all_states(top.num_visible)
    top_unnormalised = top_beta * middle @ top_visible_bias + np.logaddexp(
        0.0, top_beta * (middle @ top_weights + top_hidden_bias)
    ).sum(-1)
    log_top = top_unnormalised - special.logsumexp(top_unnormalised)
    down_logits = beta * (middle @ weights.T + visible_bias)  # [states, visible]
    log_joint = log_bernoulli(rows[:, None, :], down_logits[None]) + log_top  # [rows, states]
    up_logits = beta * (rows @ weights + hidden_bias)  # [rows, middle]
    log_q = log_bernoulli(middle[None], up_logits[:, None, :])  # [rows, states]
    bound = (np.exp(log_q) * (log_joint - log_q)).sum(-1)
    return np.asarray(special.logsumexp(log_joint, axis=1)), bound


def random_rows(num_rows: int, num_visible: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, (num_rows, num_visible)).astype(np.int8)


# -- the lower bound ----------------------------------------------------------------------------
def test_lower_bound_matches_exact_bound_and_lies_below_log_likelihood(key):
    dbn = tiny_dbn()
    rows = random_rows(24, 6, seed=3)
    log_p, exact_bound = exact_two_layer(dbn, rows)
    assert np.all(exact_bound <= log_p + 1e-12)  # Jensen: a check of the oracle
    result = ps.train.dbn_lower_bound(dbn, rows, key, num_samples=400)
    assert result.method == "exact" and result.ais is None
    assert result.stderr == result.monte_carlo_stderr > 0
    assert result.log_probs.shape == (24,)
    z = stats.norm.isf(ALPHA / 2)
    error = result.mean - exact_bound.mean()
    assert abs(error) < z * result.stderr, (
        f"bound {result.mean:.4f} vs exact {exact_bound.mean():.4f}: "
        f"{error / result.stderr:.1f} standard errors"
    )
    # the gap to the log-likelihood is resolved, so a bound that were log p(v) would fail
    gap = log_p.mean() - exact_bound.mean()
    assert gap > 2 * z * result.stderr, f"gap {gap:.4f} too small to test against"
    assert result.mean < log_p.mean()


def test_lower_bound_with_ais_differs_from_exact_by_log_z_only(key):
    dbn = tiny_dbn()
    rows = random_rows(24, 6, seed=3)
    same_key = jax.random.clone(key)  # the same draws of Q for both
    exact = ps.train.dbn_lower_bound(dbn, rows, key, num_samples=20)
    ais = ps.train.dbn_lower_bound(dbn, rows, same_key, num_samples=20, log_partition="ais",
                                   ais_options={"num_betas": 300, "num_runs": 100})  # fmt: skip
    assert ais.method == "ais" and ais.ais is not None
    assert exact.log_z == pytest.approx(ps.exact.log_partition(dbn.layers[-1]), rel=1e-12)
    # only log Z differs
    np.testing.assert_allclose(ais.log_probs - exact.log_probs, exact.log_z - ais.log_z, atol=1e-9)
    assert ais.monte_carlo_stderr == exact.monte_carlo_stderr
    assert ais.stderr == pytest.approx(np.hypot(ais.log_z_stderr, ais.monte_carlo_stderr))
    z = stats.norm.isf(ALPHA / 2)
    assert abs(ais.log_z - exact.log_z) < z * ais.log_z_stderr + 1e-3


def test_one_layer_bound_is_the_rbm_log_likelihood(key):
    rbm = random_rbm(7, 5, beta=0.9, seed=4)
    rows = random_rows(30, 7, seed=5)
    bound = ps.train.dbn_lower_bound(ps.train.DBN((rbm,)), rows, key, num_samples=10)
    likelihood = ps.train.log_likelihood(rbm, rows)
    np.testing.assert_allclose(bound.log_probs, likelihood.log_probs, rtol=1e-5)
    assert bound.mean == pytest.approx(likelihood.mean, rel=1e-5)
    assert bound.monte_carlo_stderr == 0.0 and bound.stderr == 0.0


def test_lower_bound_refuses_bad_input(key):
    dbn = tiny_dbn()
    rows = random_rows(5, 6, seed=6).astype(np.float64)
    with pytest.raises(ValueError, match="length 5"):
        ps.train.dbn_lower_bound(dbn, rows[:, :5], key)
    with pytest.raises(ValueError, match="NaN at row 1, column 2"):
        ps.train.dbn_lower_bound(dbn, np.where(np.arange(30).reshape(5, 6) == 8, np.nan, rows),
                                 key)  # fmt: skip
    with pytest.raises(ValueError, match="empty"):
        ps.train.dbn_lower_bound(dbn, np.zeros((0, 6)), key)
    with pytest.raises(ValueError, match="has 2 at column"):
        ps.train.dbn_lower_bound(dbn, rows + (np.arange(6) == 3), key)
    with pytest.raises(ValueError, match="num_samples"):
        ps.train.dbn_lower_bound(dbn, rows, key, num_samples=1)
    with pytest.raises(ValueError, match="log_partition"):
        ps.train.dbn_lower_bound(dbn, rows, key, log_partition="bridge")


# -- sampling -----------------------------------------------------------------------------------
def test_samples_follow_the_exact_visible_distribution(key):
    dbn = tiny_dbn()
    num_samples = 20_000
    key_units, key_probabilities = jax.random.split(key)
    samples = np.asarray(dbn.sample(key_units, num_samples, num_sweeps=100))
    assert samples.shape == (num_samples, 6) and samples.dtype == np.int8
    visible = all_states(6)
    log_p, _ = exact_two_layer(dbn, visible)
    probabilities = np.exp(log_p)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    # independent chains: the counts are multinomial; pool states expected fewer than 20 times
    expected = probabilities * num_samples
    index = samples.astype(np.int64) @ (2 ** np.arange(5, -1, -1))
    observed = np.bincount(index, minlength=visible.shape[0])
    rare = expected < 20
    if rare.any():
        expected = np.append(expected[~rare], expected[rare].sum())
        observed = np.append(observed[~rare], observed[rare].sum())
    statistic = ((observed - expected) ** 2 / expected).sum()
    p_value = stats.chi2.sf(statistic, expected.size - 1)
    assert p_value > ALPHA, f"chi2 = {statistic:.1f} on {expected.size - 1} dof (p = {p_value:.1e})"

    # p(v_i = 1 | h_1) averages to the visible marginals
    means = np.asarray(
        dbn.sample(key_probabilities, num_samples, num_sweeps=100, return_probabilities=True)
    )
    marginals = probabilities @ visible
    spread = means.std(axis=0) / np.sqrt(num_samples)
    z = stats.norm.isf(ALPHA / (2 * 6))
    assert np.all(np.abs(means.mean(axis=0) - marginals) < z * spread)


def test_sampling_compiles_once_per_shape(key):
    key_first, key_second, key_other = jax.random.split(key, 3)
    dbn = tiny_dbn()
    other = ps.train.DBN((random_rbm(6, 4, beta=0.5, seed=7), random_rbm(4, 3, beta=1.0, seed=8)))
    before = dbn_module._sample._cache_size()
    dbn.sample(key_first, 8, num_sweeps=3)
    dbn.sample(key_second, 8, num_sweeps=3)
    other.sample(key_other, 8, num_sweeps=3)
    assert dbn_module._sample._cache_size() == before + 1


def test_one_layer_samples_and_probabilities(key):
    key_units, key_probabilities = jax.random.split(key)
    dbn = ps.train.DBN((random_rbm(5, 3, beta=1.0, seed=9),))
    units = dbn.sample(key_units, 4, num_sweeps=2)
    probabilities = dbn.sample(key_probabilities, 4, num_sweeps=2, return_probabilities=True)
    assert units.shape == probabilities.shape == (4, 5)
    assert np.all((np.asarray(probabilities) > 0) & (np.asarray(probabilities) < 1))


# -- the network --------------------------------------------------------------------------------
def test_network_checks_its_layers():
    bottom, top = random_rbm(6, 4, 1.0, seed=1), random_rbm(5, 3, 1.0, seed=2)
    with pytest.raises(ValueError, match="layer 1 has 5 visible units, but layer 0 below it"):
        ps.train.DBN((bottom, top))
    with pytest.raises(ValueError, match="at least one"):
        ps.train.DBN(())
    with pytest.raises(TypeError, match="layer 0 must be an RBM"):
        ps.train.DBN((ps.Ising.lattice((3, 3)),))  # type: ignore[arg-type]
    dbn = ps.train.DBN([bottom, random_rbm(4, 2, 1.0, seed=3)])  # type: ignore[arg-type]
    assert dbn.layer_sizes == (6, 4, 2) and dbn.num_visible == 6 and dbn.num_layers == 2
    leaves, tree = jax.tree_util.tree_flatten(dbn)
    assert jax.tree_util.tree_unflatten(tree, leaves).layer_sizes == (6, 4, 2)


# -- greedy training ----------------------------------------------------------------------------
@pytest.mark.slow
def test_fit_dbn_trains_every_layer(key):
    data, held_out = random_rows(60, 6, seed=10), random_rows(20, 6, seed=12)
    result = ps.train.fit_dbn(data, (4, 3), num_epochs=(2, 1), rng_key=key, eval_data=held_out,
                              eval_every=1, progress_bar=False)  # fmt: skip
    assert result.dbn.layer_sizes == (6, 4, 3)
    assert [history.epoch for history in result.histories] == [[0, 1, 2], [0, 1]]
    assert all(history.log_likelihood_method == "exact" for history in result.histories)
    assert all(np.isfinite(history.log_likelihood).all() for history in result.histories)
    # training moved the starting weights (scale 0.01)
    assert np.abs(np.asarray(result.dbn.layers[0].weights)).max() > 0.02
    assert "trained greedily by pcd" in str(result)


@pytest.mark.slow
def test_fit_dbn_is_reproducible(key):
    data = random_rows(60, 6, seed=10)
    key_first, key_other = jax.random.split(key)
    same_key = jax.random.clone(key_first)
    options = {"num_epochs": 2, "progress_bar": False}
    first = ps.train.fit_dbn(data, (4, 3), rng_key=key_first, **options)
    second = ps.train.fit_dbn(data, (4, 3), rng_key=same_key, **options)
    other = ps.train.fit_dbn(data, (4, 3), rng_key=key_other, **options)
    for mine, theirs in zip(first.dbn.layers, second.dbn.layers, strict=True):
        for name in ("weights", "visible_bias", "hidden_bias"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name))
    assert not np.array_equal(first.dbn.layers[1].weights, other.dbn.layers[1].weights)


def test_fit_dbn_refuses_bad_input(key):
    data = random_rows(10, 6, seed=11)
    options = {"num_epochs": 1, "rng_key": key, "progress_bar": False}
    with pytest.raises(ValueError, match="hidden_sizes is empty"):
        ps.train.fit_dbn(data, (), **options)
    with pytest.raises(ValueError, match=r"hidden_sizes\[1\] must be a positive integer"):
        ps.train.fit_dbn(data, (4, 0), **options)
    with pytest.raises(ValueError, match=r"hidden_sizes\[0\] must be a positive integer"):
        ps.train.fit_dbn(data, (2.5,), **options)
    with pytest.raises(ValueError, match=r"holds -1/\+1 spins"):
        ps.train.fit_dbn(np.where(data == 0, -1, data), (4,), **options)
    with pytest.raises(ValueError, match=r"has 0\.5 at column 4"):
        ps.train.fit_dbn(np.where(np.arange(60).reshape(10, 6) == 16, 0.5, data), (4,),
                         **options)  # fmt: skip
    with pytest.raises(ValueError, match="NaN"):
        ps.train.fit_dbn(np.where(data == 1, np.nan, data), (4,), **options)
    with pytest.raises(ValueError, match="empty"):
        ps.train.fit_dbn(np.zeros((0, 6)), (4,), **options)
    with pytest.raises(ValueError, match="empty"):
        ps.train.fit_dbn([], (4,), **options)
    with pytest.raises(ValueError, match="eval_data rows have length 5"):
        ps.train.fit_dbn(data, (4,), eval_data=data[:, :5], **options)
    with pytest.raises(ValueError, match="2 values for 3 layers"):
        ps.train.fit_dbn(data, (4, 3, 2), num_epochs=(1, 1), rng_key=key)
    with pytest.raises(ValueError, match="propagate must be 'sample'"):
        ps.train.fit_dbn(data, (4,), propagate="mean", **options)
    with pytest.raises(ValueError, match="checkpoint"):
        ps.train.fit_dbn(data, (4,), checkpoint="dbn.npz", **options)
