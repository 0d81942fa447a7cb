"""Self-checks of the exact posterior oracles in tests/posterior_exact.py.

Each oracle is compared with an independent computation: brute-force enumeration, physsamp's
own enumeration (``physsamp.exact``), adaptive quadrature (``scipy.integrate``) or a plain
product quadrature, and with its own result at a finer resolution and under symmetries.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from posterior_exact import (
    beta_posterior,
    beta_posterior_from_log_likelihood,
    composite_gauss_legendre,
    denoising_posterior,
    expected_mpm_error_rate,
    joint_posterior,
    log_sigma_integral,
    mpm_error_rate,
    periodic_bond_sums,
    strip_posterior,
)
from scipy import integrate, special, stats

import physsamp as ps
from physsamp import exact
from physsamp.lattice_exact import ising2d_energy_per_site

# --------------------------------------------------------------------------- shared helpers


def bond_sums(model: ps.Ising) -> tuple[np.ndarray, np.ndarray]:
    """All states of a zero-field unit-coupling model and their bond sums, -E(s), taken from
    physsamp's own energy (integers, exact in float32)."""
    states = exact.states(model)
    return states.astype(np.float64), -np.asarray(model.energy(states), dtype=np.float64)


def log_partition_by_enumeration(bonds: np.ndarray):
    """beta -> log Z(beta) = log sum_s exp(beta b(s)) (betas in an array), in float64."""
    values, counts = np.unique(bonds, return_counts=True)

    def log_partition(beta) -> np.ndarray:
        exponents = np.atleast_1d(beta)[:, None] * values[None, :] + np.log(counts)[None, :]
        return special.logsumexp(exponents, axis=1)

    return log_partition


def sigma_quadrature(integrand, lower: float, upper: float, epsrel: float = 1e-13):
    """Adaptive quadrature (scipy quad_vec) of a vector integrand over [lower, upper] (it must
    be negligible outside)."""
    result, error = integrate.quad_vec(integrand, lower, upper, epsrel=epsrel, epsabs=0.0)
    assert np.all(error <= 1e-10 * np.abs(result).max())
    return result


# --------------------------------------------------------------------------- 1. denoising


@pytest.mark.parametrize(
    ("nu", "squared_distance", "scale"),
    [(16, 3.7, 1.0), (15, 3.7, 1.0), (14, 0.2, 0.5), (4, 12.0, 2.0), (1, 0.9, 1.0), (0, 5.0, 0.3)],
)
def test_sigma_integral_closed_form_matches_quadrature(nu, squared_distance, scale):
    def integrand(sigma):
        return sigma**-nu * math.exp(-squared_distance / (2 * sigma**2) - sigma**2 / (2 * scale**2))

    value, _ = integrate.quad(integrand, 0.0, 40.0 * scale, epsabs=0.0, epsrel=1e-13)
    closed = float(log_sigma_integral(nu, np.array([squared_distance]), scale)[0])
    assert closed == pytest.approx(math.log(value), rel=1e-11, abs=1e-11)


def test_denoising_matches_adaptive_quadrature_over_sigma():
    """Independent route: physsamp.exact's prior probabilities, scipy.stats densities and
    adaptive quadrature over sigma of [1, sigma, sigma^2, P(s_i = +1 and sigma)]."""
    rng = np.random.default_rng(11)
    graph = nx.cycle_graph(5)
    graph.add_edge(0, 2)
    prior = ps.Ising(graph, coupling=rng.normal(0, 1, 6), field=rng.normal(0, 0.5, 5), beta=0.7)
    truth = rng.choice([-1.0, 1.0], 5)
    y = truth + rng.normal(0, 0.6, 5)
    scale = 0.8
    states = exact.states(prior).astype(np.float64)
    log_prior = np.log(exact.probabilities(prior))

    def integrand(sigma):
        log_joint = (
            log_prior
            + stats.norm.logpdf(y[None, :], states, sigma).sum(axis=1)
            + stats.halfnorm.logpdf(sigma, scale=scale)
        )
        weights = np.exp(log_joint)
        total = weights.sum()
        return np.array([total, sigma * total, sigma**2 * total, *(weights @ (states > 0))])

    integrals = sigma_quadrature(integrand, 0.01, 20.0 * scale)
    posterior = denoising_posterior(prior, y, sigma_scale=scale)
    mean = integrals[1] / integrals[0]
    np.testing.assert_allclose(posterior.spin_up, integrals[3:] / integrals[0], rtol=1e-10)
    assert posterior.sigma_mean == pytest.approx(mean, rel=1e-10)
    assert posterior.sigma_sd == pytest.approx(math.sqrt(integrals[2] / integrals[0] - mean**2))
    assert posterior.log_evidence == pytest.approx(math.log(integrals[0]), rel=1e-10)


def test_denoising_symmetries_on_16_sites():
    prior = ps.Ising.lattice((4, 4), coupling=1.0, beta=0.4)  # zero field: flip symmetric
    zero = denoising_posterior(prior, np.zeros(16))
    np.testing.assert_allclose(zero.spin_up, 0.5, atol=1e-12)
    rng = np.random.default_rng(3)
    y = rng.choice([-1.0, 1.0], 16) + rng.normal(0, 0.7, 16)
    plus = denoising_posterior(prior, y, sigma_scale=1.5)
    minus = denoising_posterior(prior, -y, sigma_scale=1.5)
    np.testing.assert_allclose(plus.spin_up, 1.0 - minus.spin_up, atol=1e-12)
    assert plus.sigma_mean == pytest.approx(minus.sigma_mean, rel=1e-12)
    assert plus.sigma_sd == pytest.approx(minus.sigma_sd, rel=1e-12)
    assert 0.0 < plus.sigma_sd < plus.sigma_mean


def test_denoising_refuses_an_improper_posterior():
    prior = ps.Ising.lattice((2, 2), periodic=False, beta=0.5)
    with pytest.raises(ValueError, match="improper"):
        denoising_posterior(prior, np.array([1.0, -1.0, 1.0, 1.0]))


# --------------------------------------------------------------------------- 2. strip


def enumerate_strip(num_rows, width, coupling, beta, phi):
    """Brute force: log Z and P(s_i = +1) of exp(beta J sum_bonds s_i s_j + phi.s) on the
    open lattice, with the bonds from physsamp's model and float64 arithmetic."""
    model = ps.Ising.lattice((num_rows, width), periodic=False)
    edges = np.asarray(model.edges)
    states = exact.states(model).astype(np.float64)
    log_weights = beta * coupling * (states[:, edges[:, 0]] * states[:, edges[:, 1]]).sum(1)
    log_weights = log_weights + states @ phi
    log_z = special.logsumexp(log_weights)
    return log_z, np.exp(log_weights - log_z) @ (states > 0), np.exp(log_weights - log_z), states


@pytest.mark.parametrize(("num_rows", "width"), [(4, 3), (3, 4), (1, 5), (5, 1)])
def test_strip_matches_enumeration(num_rows, width):
    rng = np.random.default_rng(num_rows * 10 + width)
    phi = rng.normal(0.0, 1.0, num_rows * width)
    for coupling, beta in [(0.7, 0.6), (-1.3, 0.9)]:
        result = strip_posterior(num_rows, width, coupling, beta, phi)
        log_z, spin_up, _, _ = enumerate_strip(num_rows, width, coupling, beta, phi)
        assert result.log_partition == pytest.approx(log_z, rel=1e-12)
        np.testing.assert_allclose(result.spin_up, spin_up, rtol=1e-10)


def test_strip_matches_physsamp_exact():
    """phi / beta and J chosen exactly representable in float32 (physsamp stores float32)."""
    rng = np.random.default_rng(5)
    beta = 0.5
    for shape, coupling in [((4, 3), 1.0), ((3, 4), -0.75)]:
        phi = rng.integers(-8, 9, shape[0] * shape[1]) / 8.0
        model = ps.Ising.lattice(shape, coupling, field=phi / beta, beta=beta, periodic=False)
        result = strip_posterior(*shape, coupling, beta, phi.reshape(shape))
        assert result.log_partition == pytest.approx(exact.log_partition(model), rel=1e-12)
        np.testing.assert_allclose(result.spin_up, exact.marginals(model), rtol=1e-10)


def test_strip_symmetries_and_transposition():
    rng = np.random.default_rng(8)
    phi = rng.normal(0.0, 1.5, (8, 6))
    wide = strip_posterior(8, 6, 1.0, 0.44, phi)
    tall = strip_posterior(6, 8, 1.0, 0.44, phi.T)  # the same model, rows and columns swapped
    assert wide.log_partition == pytest.approx(tall.log_partition, rel=1e-12)
    np.testing.assert_allclose(wide.spin_up, tall.spin_up.reshape(6, 8).T.ravel(), rtol=1e-10)
    flipped = strip_posterior(8, 6, 1.0, 0.44, -phi)
    np.testing.assert_allclose(flipped.spin_up, 1.0 - wide.spin_up, atol=1e-12)
    np.testing.assert_allclose(strip_posterior(8, 6, 1.0, 0.6, np.zeros(48)).spin_up, 0.5)


def test_strip_denoising_size():
    """The intended use: 64 x 10 from noisy observations of a striped truth (fast)."""
    rng = np.random.default_rng(13)
    truth = np.where((np.arange(64)[:, None] // 8 + np.arange(10)[None, :] // 5) % 2, 1, -1)
    sigma = 0.9
    y = truth + rng.normal(0.0, sigma, truth.shape)
    result = strip_posterior(64, 10, 1.0, 0.6, y / sigma**2)
    assert np.isfinite(result.log_partition)
    assert np.all((result.spin_up >= 0.0) & (result.spin_up <= 1.0))
    expected = expected_mpm_error_rate(result.spin_up)
    realised = mpm_error_rate(result.spin_up, truth)
    naive = mpm_error_rate(np.where(y > 0, 1.0, 0.0).ravel(), truth)
    assert expected < 0.15 and realised < naive  # pooling neighbours beats thresholding


def test_mpm_error_rates():
    """The expected error rate is the posterior mean of the realised one."""
    rng = np.random.default_rng(21)
    phi = rng.normal(0.0, 0.8, 12)
    result = strip_posterior(3, 4, 0.8, 0.7, phi)
    _, _, probabilities, states = enumerate_strip(3, 4, 0.8, 0.7, phi)
    realised = np.array([mpm_error_rate(result.spin_up, s) for s in states])
    assert probabilities @ realised == pytest.approx(expected_mpm_error_rate(result.spin_up))
    assert mpm_error_rate(np.array([0.9, 0.2, 0.5]), np.array([1, 1, -1])) == pytest.approx(0.5)
    assert expected_mpm_error_rate(np.array([0.9, 0.2, 0.5])) == pytest.approx(0.8 / 3)


# --------------------------------------------------------------------------- 3. beta


def flipped_configuration(side: int, fraction: float, seed: int) -> np.ndarray:
    """All up but a random fraction of sites: an energy between ground state and disorder."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((side, side)) < fraction, -1, 1)


def test_beta_posterior_kaufman_matches_enumeration_4x4():
    model = ps.Ising.lattice((4, 4), beta=1.0)
    _, bonds = bond_sums(model)
    log_partition = log_partition_by_enumeration(bonds)
    for beta in (0.25, 0.875):  # exact in float32, so physsamp's beta is this beta
        enumerated = log_partition(beta)[0]
        assert enumerated == pytest.approx(
            exact.log_partition(ps.Ising.lattice((4, 4), beta=beta)), rel=1e-12
        )
    configurations = np.stack([flipped_configuration(4, 0.2, seed) for seed in (1, 2, 3)])
    observed = -np.asarray(model.energy(configurations.reshape(3, 16)), dtype=np.float64)
    np.testing.assert_allclose(periodic_bond_sums(configurations), observed)
    for chosen in (configurations[:1], configurations):
        total = -float(np.asarray(model.energy(chosen.reshape(len(chosen), 16))).sum())

        def log_likelihood(beta, total=total, count=chosen.shape[0]):
            return beta * total - count * log_partition(beta)[0]

        kaufman = beta_posterior(chosen, 0.05, 1.5)
        enumerated = beta_posterior_from_log_likelihood(log_likelihood, 0.05, 1.5)
        assert kaufman.mean == pytest.approx(enumerated.mean, rel=1e-10)
        assert kaufman.sd == pytest.approx(enumerated.sd, rel=1e-9)
        assert kaufman.log_evidence == pytest.approx(enumerated.log_evidence, rel=1e-10)
        np.testing.assert_allclose(kaufman.grid, enumerated.grid, rtol=1e-9)
        np.testing.assert_allclose(kaufman.density, enumerated.density, rtol=1e-7, atol=1e-12)


def test_beta_posterior_resolution_quadrature_and_mode_16x16():
    configuration = flipped_configuration(16, 0.1, seed=4)
    posterior = beta_posterior(configuration, 0.1, 1.0)
    finer = beta_posterior(configuration, 0.1, 1.0, num_panels=64, order=24)
    assert posterior.mean == pytest.approx(finer.mean, abs=1e-12)
    assert posterior.sd == pytest.approx(finer.sd, abs=1e-12)
    assert integrate.simpson(posterior.density, x=posterior.grid) == pytest.approx(1.0, abs=1e-7)
    # the mode solves <E>(beta)/N = E(x)/N (zero of the log density's derivative)
    energy_per_site = -float(periodic_bond_sums(configuration)) / 256
    assert ising2d_energy_per_site(16, 16, posterior.mode) == pytest.approx(
        energy_per_site, abs=1e-6
    )
    # independent integration: adaptive quadrature over the whole prior range
    log_norm = posterior.log_evidence + math.log(0.9)
    bonds = float(periodic_bond_sums(configuration))

    def weight(beta, power):
        log_z = ps.lattice_exact.ising2d_log_partition(16, 16, beta)
        return beta**power * math.exp(beta * bonds - log_z - log_norm)

    moments = [
        integrate.quad(weight, 0.1, 1.0, args=(power,), points=[posterior.mode], epsrel=1e-11)[0]
        for power in (0, 1, 2)
    ]
    assert moments[0] == pytest.approx(1.0, abs=1e-9)
    assert posterior.mean == pytest.approx(moments[1], abs=1e-9)
    assert posterior.sd == pytest.approx(math.sqrt(moments[2] - moments[1] ** 2), abs=1e-8)


def test_beta_posterior_of_an_ordered_configuration_piles_up_at_the_upper_end():
    up = beta_posterior(np.ones(256), 0.2, 0.6)
    down = beta_posterior(-np.ones((16, 16)), 0.2, 0.6)
    assert up.mode == 0.6
    assert np.all(np.diff(up.density) > 0)  # the likelihood increases with beta
    assert up.mean > 0.55 and up.mean == pytest.approx(down.mean, rel=1e-12)
    assert integrate.simpson(up.density, x=up.grid) == pytest.approx(1.0, abs=1e-7)


def test_beta_posterior_shapes_and_32x32():
    one = flipped_configuration(16, 0.15, seed=9)
    other = flipped_configuration(16, 0.12, seed=10)
    reference = beta_posterior(one, 0.2, 0.8)
    for form in (one.ravel(), one[None], one.reshape(1, 256)):
        assert beta_posterior(form, 0.2, 0.8).mean == pytest.approx(reference.mean, rel=1e-13)
    pair = beta_posterior(np.stack([one, other]), 0.2, 0.8)
    assert beta_posterior(np.stack([one.ravel(), other.ravel()]), 0.2, 0.8).mean == pair.mean
    assert pair.sd < reference.sd
    small = np.stack([flipped_configuration(4, 0.2, seed) for seed in range(16)])
    assert beta_posterior(small.reshape(16, 16), 0.1, 1.5, side=4).mean == pytest.approx(
        beta_posterior(small, 0.1, 1.5).mean, rel=1e-13
    )
    large = beta_posterior(flipped_configuration(32, 0.1, seed=12), 0.1, 1.0)
    assert 0.0 < large.sd < reference.sd and 0.1 < large.mean < 1.0


# --------------------------------------------------------------------------- 4. joint


def product_quadrature_joint(shape, y, beta_low, beta_high, scale, num_beta, num_sigma):
    """Brute force: product Gauss-Legendre over (beta, log sigma) of the full joint density
    summed over all spin states, with physsamp's energies, log Z by enumeration and
    scipy.stats densities (no closed-form sigma integral)."""
    model = ps.Ising.lattice(shape, periodic=True)
    states, bonds = bond_sums(model)
    betas, beta_weights = composite_gauss_legendre(beta_low, beta_high, 8, num_beta // 8)
    log_sigmas, sigma_weights = composite_gauss_legendre(
        math.log(0.02), math.log(12.0 * scale), 16, num_sigma // 16
    )
    sigmas = np.exp(log_sigmas)
    log_z = log_partition_by_enumeration(bonds)(betas)
    log_prior_spins = betas[:, None] * bonds[None, :] - log_z[:, None]  # [beta, state]
    log_likelihood = stats.norm.logpdf(y[None, None, :], states[None], sigmas[:, None, None])
    log_sigma = (
        log_likelihood.sum(axis=2)
        + stats.halfnorm.logpdf(sigmas, scale=scale)[:, None]
        + (np.log(sigma_weights) + log_sigmas)[:, None]  # d sigma = sigma d log sigma
    )  # [sigma, state]
    log_beta = log_prior_spins + np.log(beta_weights)[:, None] - math.log(beta_high - beta_low)
    # the node weights factorise, w[j, k, s] = a[j, s] b[k, s], so sums over nodes do too
    a_top, b_top = log_beta.max(), log_sigma.max()
    a, b = np.exp(log_beta - a_top), np.exp(log_sigma - b_top)
    state_beta = [(betas**power) @ a for power in (0, 1, 2)]  # [state] each
    state_sigma = [(sigmas**power) @ b for power in (0, 1, 2)]
    total = state_beta[0] @ state_sigma[0]
    beta_moments = [(state_beta[power] @ state_sigma[0]) / total for power in (1, 2)]
    sigma_moments = [(state_beta[0] @ state_sigma[power]) / total for power in (1, 2)]
    return {
        "beta_mean": beta_moments[0],
        "beta_sd": math.sqrt(beta_moments[1] - beta_moments[0] ** 2),
        "sigma_mean": sigma_moments[0],
        "sigma_sd": math.sqrt(sigma_moments[1] - sigma_moments[0] ** 2),
        "spin_up": (state_beta[0] * state_sigma[0]) @ (states > 0) / total,
        "log_evidence": math.log(total) + a_top + b_top,
    }


def test_joint_matches_product_quadrature_3x3():
    rng = np.random.default_rng(17)
    y = rng.choice([-1.0, 1.0], 9) + rng.normal(0.0, 0.5, 9)
    coarse = product_quadrature_joint((3, 3), y, 0.1, 1.2, 1.0, num_beta=64, num_sigma=192)
    fine = product_quadrature_joint((3, 3), y, 0.1, 1.2, 1.0, num_beta=96, num_sigma=256)
    result = joint_posterior((3, 3), y, 0.1, 1.2, sigma_scale=1.0)
    for name in ("beta_mean", "beta_sd", "sigma_mean", "sigma_sd", "log_evidence"):
        assert coarse[name] == pytest.approx(fine[name], rel=1e-10), name
        assert getattr(result, name) == pytest.approx(fine[name], rel=1e-9), name
    np.testing.assert_allclose(coarse["spin_up"], fine["spin_up"], rtol=1e-10)
    np.testing.assert_allclose(result.spin_up, fine["spin_up"], rtol=1e-9)


def test_joint_with_a_narrow_beta_range_is_the_denoising_posterior():
    rng = np.random.default_rng(19)
    y = rng.choice([-1.0, 1.0], 9) + rng.normal(0.0, 0.8, 9)
    beta = 0.375  # exact in float32
    joint = joint_posterior((3, 3), y, beta, beta + 1e-9, sigma_scale=0.7)
    fixed = denoising_posterior(ps.Ising.lattice((3, 3), beta=beta), y, sigma_scale=0.7)
    assert joint.beta_mean == pytest.approx(beta + 5e-10, abs=1e-12)
    np.testing.assert_allclose(joint.spin_up, fixed.spin_up, rtol=1e-7)
    assert joint.sigma_mean == pytest.approx(fixed.sigma_mean, rel=1e-7)
    assert joint.sigma_sd == pytest.approx(fixed.sigma_sd, rel=1e-7)


def test_joint_4x4_resolution_and_symmetries():
    rng = np.random.default_rng(23)
    y = rng.choice([-1.0, 1.0], 16) + rng.normal(0.0, 0.6, 16)
    result = joint_posterior((4, 4), y, 0.1, 1.0)
    finer = joint_posterior((4, 4), y, 0.1, 1.0, num_panels=64, order=30)
    for name in ("beta_mean", "beta_sd", "sigma_mean", "sigma_sd", "log_evidence"):
        assert getattr(result, name) == pytest.approx(getattr(finer, name), rel=1e-11), name
    np.testing.assert_allclose(result.spin_up, finer.spin_up, rtol=1e-11)
    flipped = joint_posterior((4, 4), -y, 0.1, 1.0)
    np.testing.assert_allclose(flipped.spin_up, 1.0 - result.spin_up, atol=1e-12)
    assert flipped.beta_mean == pytest.approx(result.beta_mean, rel=1e-12)
    zero = joint_posterior((4, 4), np.zeros(16), 0.1, 1.0)
    np.testing.assert_allclose(zero.spin_up, 0.5, atol=1e-12)
    assert 0.1 < result.beta_mean < 1.0 and result.beta_sd > 0.0
