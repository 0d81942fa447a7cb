"""Tests of physsamp.lattice_exact against enumeration, transfer matrices and Onsager."""

import doctest
import functools
import math

import numpy as np
import pytest
from scipy.special import logsumexp

from physsamp import lattice_exact
from physsamp.lattice_exact import (
    BETA_CRITICAL,
    ising2d_energy_per_site,
    ising2d_log_partition,
    ising2d_specific_heat_per_site,
    onsager_energy_per_site,
    onsager_free_energy,
    yang_magnetization,
)

BETAS = [0.0, 0.2, 0.44, BETA_CRITICAL, 1.0, 2.0]
CATALAN = 0.915965594177219015054603514932384110774


@functools.cache
def bond_sum_histogram(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Enumerate all 2^N states of a periodic rows x cols lattice.

    Returns the distinct values of sum_<ij> s_i s_j (each bond once) and how many states
    have each value, so that Z(beta) = sum counts * exp(beta J value) at any beta.
    """
    num_sites = rows * cols
    state_index = np.arange(2**num_sites, dtype=np.int32)
    # spins[r, c] is a contiguous row over all states, so each bond is one vector product
    spins = np.stack(
        [1 - 2 * ((state_index >> site) & 1).astype(np.int8) for site in range(num_sites)]
    ).reshape(rows, cols, -1)
    bond_sum = np.zeros(state_index.size, dtype=np.int16)
    for r in range(rows):
        for c in range(cols):
            bond_sum += spins[r, c] * spins[(r + 1) % rows, c]  # vertical bond
            bond_sum += spins[r, c] * spins[r, (c + 1) % cols]  # horizontal bond
    values, counts = np.unique(bond_sum, return_counts=True)
    return values.astype(np.float64), counts.astype(np.float64)


def enumerated(rows: int, cols: int, beta: float, coupling: float = 1.0):
    """(log Z, energy per site, specific heat per site) from the bond-sum histogram."""
    values, counts = bond_sum_histogram(rows, cols)
    log_weights = beta * coupling * values + np.log(counts)
    log_z = logsumexp(log_weights)
    prob = np.exp(log_weights - log_z)
    energy = -coupling * values
    mean_energy = prob @ energy
    variance = prob @ (energy - mean_energy) ** 2
    num_sites = rows * cols
    return log_z, mean_energy / num_sites, beta**2 * variance / num_sites


def transfer_matrix(rows: int, cols: int, beta: float):
    """(log Z, energy per site) from the row-to-row transfer matrix, J = 1.

    T[a, b] = exp(beta [sum_c a_c b_c + (bonds within a + bonds within b) / 2]) is symmetric,
    Z = Tr T^rows = sum_i lambda_i^rows, and d Z / d beta = rows * Tr(T^(rows-1) dT).
    """
    index = np.arange(2**cols)
    row_spins = 1 - 2 * ((index[:, None] >> np.arange(cols)) & 1)
    within = np.sum(row_spins * np.roll(row_spins, 1, axis=1), axis=1)
    bonds = row_spins @ row_spins.T + 0.5 * (within[:, None] + within[None, :])
    matrix = np.exp(beta * bonds)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    largest = np.max(np.abs(eigenvalues))
    ratios = eigenvalues / largest
    trace = np.sum(ratios**rows)
    derivative_diag = np.sum(eigenvectors * ((bonds * matrix) @ eigenvectors), axis=0)
    dlog_z = rows * np.sum(ratios ** (rows - 1) * derivative_diag) / largest / trace
    return rows * math.log(largest) + math.log(trace), -dlog_z / (rows * cols)


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3), (4, 4), (4, 5)])
def test_matches_enumeration(shape):
    rows, cols = shape
    for beta in BETAS:
        log_z, energy, heat = enumerated(rows, cols, beta)
        np.testing.assert_allclose(ising2d_log_partition(rows, cols, beta), log_z, rtol=1e-12)
        np.testing.assert_allclose(
            ising2d_energy_per_site(rows, cols, beta), energy, rtol=1e-10, atol=1e-13
        )
        np.testing.assert_allclose(
            ising2d_specific_heat_per_site(rows, cols, beta), heat, rtol=1e-9, atol=1e-13
        )


@pytest.mark.parametrize("shape", [(5, 7), (6, 6), (11, 4), (16, 3), (7, 5)])
def test_matches_transfer_matrix(shape):
    rows, cols = shape
    for beta in [0.1, 0.3, BETA_CRITICAL, 0.7, 1.5]:
        log_z, energy = transfer_matrix(rows, cols, beta)
        np.testing.assert_allclose(ising2d_log_partition(rows, cols, beta), log_z, rtol=1e-12)
        np.testing.assert_allclose(ising2d_energy_per_site(rows, cols, beta), energy, rtol=1e-10)


def test_coupling_scales_beta_and_antiferromagnet_on_even_lattice():
    log_z, energy, heat = enumerated(4, 4, 0.35, coupling=-1.5)
    np.testing.assert_allclose(ising2d_log_partition(4, 4, 0.35, coupling=-1.5), log_z, rtol=1e-12)
    np.testing.assert_allclose(
        ising2d_energy_per_site(4, 4, 0.35, coupling=-1.5), energy, rtol=1e-10
    )
    np.testing.assert_allclose(
        ising2d_specific_heat_per_site(4, 4, 0.35, coupling=-1.5), heat, rtol=1e-9
    )
    assert ising2d_log_partition(4, 6, 0.7, coupling=0.5) == ising2d_log_partition(4, 6, 0.35)


def test_sides_are_interchangeable():
    for beta in [0.2, BETA_CRITICAL, 0.9]:
        np.testing.assert_allclose(
            ising2d_log_partition(9, 40, beta), ising2d_log_partition(40, 9, beta), rtol=1e-14
        )
        np.testing.assert_allclose(
            ising2d_energy_per_site(9, 40, beta), ising2d_energy_per_site(40, 9, beta), rtol=1e-12
        )


@pytest.mark.parametrize("beta", [0.3, 0.6])
def test_large_lattice_approaches_onsager(beta):
    side = 512
    num_sites = side * side
    log_z = ising2d_log_partition(side, side, beta)
    # Below T_c the torus sums over both ordered phases, which adds ln 2 to ln Z.
    log_z_one_phase = log_z - (math.log(2.0) if beta > BETA_CRITICAL else 0.0)
    assert abs(log_z_one_phase / num_sites - onsager_free_energy(beta)) < 1e-6
    energy = ising2d_energy_per_site(side, side, beta)
    assert abs(energy - onsager_energy_per_site(beta)) < 1e-6
    assert np.isfinite(ising2d_specific_heat_per_site(side, side, beta))


def test_stable_at_criticality_for_large_lattices():
    # finite, ordered in L and approaching the infinite-lattice values
    energies = [ising2d_energy_per_site(side, side, BETA_CRITICAL) for side in (64, 256, 1024)]
    gaps = [energy - onsager_energy_per_site(BETA_CRITICAL) for energy in energies]
    assert all(np.isfinite(gaps)) and abs(gaps[0]) > abs(gaps[1]) > abs(gaps[2])
    heats = [ising2d_specific_heat_per_site(side, side, BETA_CRITICAL) for side in (64, 256, 1024)]
    assert heats[0] < heats[1] < heats[2]  # logarithmic divergence of C at T_c
    for beta in [1e-12, 1e-3, 5.0, 50.0]:
        assert np.isfinite(ising2d_log_partition(1024, 1024, beta))
        assert -2.0 <= ising2d_energy_per_site(1024, 1024, beta) <= 0.0


def test_infinite_lattice_reference_values():
    assert BETA_CRITICAL == pytest.approx(0.5 * math.log(1.0 + math.sqrt(2.0)), rel=1e-15)
    assert onsager_free_energy(0.0) == math.log(2.0)
    # ln Z / N at T_c = 2G/pi + ln(2)/2 (G: Catalan's constant); u_c = -sqrt(2)
    assert onsager_free_energy(BETA_CRITICAL) == pytest.approx(
        2 * CATALAN / math.pi + 0.5 * math.log(2.0), abs=1e-13
    )
    assert onsager_energy_per_site(BETA_CRITICAL) == pytest.approx(-math.sqrt(2.0), rel=1e-14)
    # the energy is minus the beta-derivative of ln Z / N
    for beta in [0.15, 0.35, 0.55, 1.2]:
        step = 1e-5
        slope = (onsager_free_energy(beta + step) - onsager_free_energy(beta - step)) / (2 * step)
        assert onsager_energy_per_site(beta) == pytest.approx(-slope, abs=1e-8)
    # high-temperature series: u = -2t - 4t^3 + O(t^5), t = tanh(beta)
    t = math.tanh(1e-3)
    assert onsager_energy_per_site(1e-3) == pytest.approx(-2 * t - 4 * t**3, rel=1e-12)
    assert onsager_energy_per_site(30.0) == -2.0


def test_yang_magnetization():
    assert yang_magnetization(0.0) == 0.0
    assert yang_magnetization(BETA_CRITICAL) == 0.0
    assert yang_magnetization(0.6, coupling=-1.0) == 0.0
    beta = 0.5 * math.asinh(2.0)  # sinh(2 beta) = 2
    assert yang_magnetization(beta) == pytest.approx((15.0 / 16.0) ** 0.125, rel=1e-14)
    assert yang_magnetization(1.0, coupling=2.0) == yang_magnetization(2.0)
    assert 0.0 < yang_magnetization(BETA_CRITICAL * (1 + 1e-9)) < 0.2
    assert yang_magnetization(20.0) == 1.0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((2, 4, 0.3), ValueError, "at least 3"),
        ((4, 1, 0.3), ValueError, "at least 3"),
        ((4.0, 4, 0.3), TypeError, "integer"),
        ((True, 4, 0.3), TypeError, "integer"),
        ((4, 4, -0.1), ValueError, "beta must be >= 0"),
        ((4, 4, math.nan), ValueError, "finite"),
        ((4, 4, math.inf), ValueError, "finite"),
        ((4, 4, 0.3, math.nan), ValueError, "coupling must be finite"),
        ((4, 4, 400.0), ValueError, "exceeds"),
        ((3, 4, 0.3, -1.0), ValueError, "both sides even"),
    ],
)
def test_input_validation(args, error, match):
    for function in (
        ising2d_log_partition,
        ising2d_energy_per_site,
        ising2d_specific_heat_per_site,
    ):
        with pytest.raises(error, match=match):
            function(*args)


def test_infinite_lattice_input_validation():
    for function in (onsager_free_energy, onsager_energy_per_site, yang_magnetization):
        with pytest.raises(ValueError, match="beta must be >= 0"):
            function(-1.0)
        with pytest.raises(ValueError, match="finite"):
            function(math.nan)


def test_docstring_examples():
    failures, attempted = doctest.testmod(lattice_exact)
    assert attempted > 0 and failures == 0
