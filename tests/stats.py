"""Statistical checks against exact distributions, with thresholds from the effective sample
size. Failure rates are named: each check fails a correct sampler with probability ALPHA."""

from __future__ import annotations

import arviz as az
import numpy as np
from scipy import stats

from physsamp import exact

#: the probability that a check rejects a correct sampler
ALPHA = 1e-4


def effective_sample_size(draws: np.ndarray) -> float:
    """ESS of ``[chain, draw]`` draws (ArviZ bulk ESS)."""
    return float(az.ess(np.asarray(draws, dtype=np.float64)))


def chi_square_against_exact(model, chains: np.ndarray, min_expected: float = 20.0):
    """Chi-square statistic of the visited states ``[chain, draw, site]`` against the exact
    distribution, for correlated draws: each state's squared deviation is divided by its own
    autocorrelation time (draws over the ESS of the indicator of that state), so that the
    statistic is chi-square distributed as for independent draws. States expected fewer than
    ``min_expected`` times are pooled into one bin.

    Returns ``(statistic, degrees_of_freedom, p_value, ess)`` with ``ess`` the ESS of the log
    density."""
    num_chains, num_draws, _ = chains.shape
    total = num_chains * num_draws
    probabilities = exact.probabilities(model)
    index = exact.state_index(model, chains)
    log_weight = np.asarray(model.log_prob(chains.reshape(-1, model.num_sites)))
    ess = effective_sample_size(log_weight.reshape(num_chains, num_draws))
    expected = probabilities * total
    kept = np.flatnonzero(expected >= min_expected)
    bins = np.full(probabilities.size, len(kept))
    bins[kept] = np.arange(len(kept))
    expected = np.bincount(bins, weights=expected, minlength=len(kept) + 1)
    if expected[-1] < min_expected:  # too rare even when pooled: drop the pool
        expected = expected[:-1]
    binned = bins[index]
    indicators = binned[..., None] == np.arange(len(expected))
    observed = indicators.sum(axis=(0, 1))
    bin_ess = az.ess(az.convert_to_dataset(indicators.astype(np.float64)), method="mean")
    bin_ess = np.asarray(bin_ess["x"])
    inflation = np.maximum(total / np.maximum(bin_ess, 1.0), 1.0)
    statistic = float(((observed - expected) ** 2 / (expected * inflation)).sum())
    dof = len(expected) - 1
    return statistic, dof, float(stats.chi2.sf(statistic, dof)), ess


def assert_matches_exact(model, chains: np.ndarray, min_ess: float = 2000.0):
    statistic, dof, p_value, ess = chi_square_against_exact(model, np.asarray(chains))
    assert ess >= min_ess, f"too few effective samples for a meaningful test: {ess:.0f}"
    assert p_value > ALPHA, (
        f"visited states disagree with the exact distribution: chi2 = {statistic:.1f} on "
        f"{dof} dof (p = {p_value:.2e}, ESS {ess:.0f})"
    )


def assert_mean_close(samples: np.ndarray, exact_value: float, z: float = 4.0):
    """``|mean - exact| < z * sd / sqrt(ESS)``; z = 4 means a failure rate of ~6e-5."""
    draws = np.asarray(samples, dtype=np.float64)
    ess = effective_sample_size(draws)
    error = draws.std() / np.sqrt(ess)
    assert abs(draws.mean() - exact_value) < z * error, (
        f"mean {draws.mean():.6f} vs exact {exact_value:.6f}: off by "
        f"{abs(draws.mean() - exact_value) / error:.1f} standard errors (ESS {ess:.0f})"
    )


def assert_means_close(samples: np.ndarray, exact_values, alpha: float = ALPHA):
    """Each of ``k`` quantities ``samples [chain, draw, k]`` has its mean within
    ``z * sd / sqrt(ESS)`` of ``exact_values [k]``, with ``z`` set so that all ``k`` together
    fail a correct sampler with probability ``alpha`` (Bonferroni). A quantity constant over
    every draw at ``v`` (an indicator whose exact mean is near 0 or 1) passes when ``ess``
    independent draws would all be ``v`` with probability above ``alpha / k``:
    ``|v - exact| * ess < -log(alpha / k)``, with ``ess`` the median over the other
    quantities."""
    draws = np.asarray(samples, dtype=np.float64)
    exact_values = np.asarray(exact_values, dtype=np.float64)
    num = draws.shape[-1]
    z = stats.norm.isf(alpha / (2 * num))
    constant = np.ptp(draws.reshape(-1, num), axis=0) == 0
    ess = {k: effective_sample_size(draws[..., k]) for k in np.flatnonzero(~constant)}
    typical_ess = float(np.median(list(ess.values()))) if ess else float(draws[..., 0].size)
    for k in range(num):
        column = draws[..., k]
        if constant[k]:
            gap = abs(column.flat[0] - exact_values[k])
            assert gap * typical_ess < -np.log(alpha / num), (
                f"quantity {k} is constant at {column.flat[0]} but its exact mean is "
                f"{exact_values[k]:.6f} (ESS about {typical_ess:.0f})"
            )
            continue
        error = column.std() / np.sqrt(ess[k])
        assert abs(column.mean() - exact_values[k]) < z * error, (
            f"quantity {k}: mean {column.mean():.6f} vs exact {exact_values[k]:.6f}, off by "
            f"{abs(column.mean() - exact_values[k]) / error:.1f} standard errors "
            f"(ESS {ess[k]:.0f}, threshold {z:.1f})"
        )
