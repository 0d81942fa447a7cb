import jax
import networkx as nx
import numpy as np
import pytest
from checks import assert_step_compiles_once
from models_fixtures import random_boltzmann, random_ising, random_rbm
from stats import ALPHA, assert_matches_exact, assert_mean_close, chi_square_against_exact

import physsamp as ps
from physsamp.kernels import block_gibbs, sample_chains
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site

NUM_CHAINS, NUM_DRAWS = 16, 3000


def run(model, key, generator="hash", num_chains=NUM_CHAINS, num_draws=NUM_DRAWS):
    key_init, key_run = jax.random.split(key)
    starts = model.uniform_configuration(key_init, (num_chains,))
    states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
    step = block_gibbs.build_kernel(generator=generator)
    _, draws, infos = sample_chains(key_run, step, states, model, num_draws=num_draws)
    return np.asarray(draws), infos


@pytest.mark.parametrize("beta", [0.3, 1.0, pytest.param(2.0, marks=pytest.mark.slow)])
def test_ising_matches_exact_distribution(beta, key):
    model = random_ising(10, beta, seed=1)
    assert model.num_colors >= 3  # a non-bipartite graph: the greedy colouring path
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.0])
def test_boltzmann_machine_matches_exact_distribution(beta, key):
    draws, _ = run(random_boltzmann(10, beta, seed=2), key)
    assert_matches_exact(random_boltzmann(10, beta, seed=2), draws)


SLOW_BETAS = [pytest.param(1.0, marks=pytest.mark.slow), pytest.param(2.0, marks=pytest.mark.slow)]


@pytest.mark.parametrize("beta", [0.3, *SLOW_BETAS])
def test_rbm_matches_exact_distribution(beta, key):
    model = random_rbm(9, 5, beta, seed=3)
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


def test_jax_generator_matches_exact_distribution(key):
    model = random_ising(9, 1.0, seed=1)
    draws, _ = run(model, key, generator="jax")
    assert_matches_exact(model, draws)


def test_lattice_with_fields_matches_exact_distribution(key, half_sweeps):
    rng = np.random.default_rng(5)
    model = ps.Ising.lattice((4, 3), coupling=rng.normal(0, 1, (2, 4, 3)), field=0.3,
                             beta=0.8, periodic=False)  # fmt: skip
    assert model.lattice_shape == (4, 3)
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


def test_check_detects_a_wrong_temperature(key):
    """The exact-distribution check has power: chains at beta * 1.15 fail it."""
    model = random_ising(10, 1.0, seed=1)
    draws, _ = run(model.with_beta(1.15), key)
    _, _, p_value, _ = chi_square_against_exact(model, draws)
    assert p_value < ALPHA


def lattice_as_graph(shape, bonds):
    graph = nx.Graph()
    graph.add_nodes_from(np.ndindex(*shape))
    for d in range(len(shape)):
        for x in np.ndindex(*shape):
            y = list(x)
            y[d] = (y[d] + 1) % shape[d]
            graph.add_edge(x, tuple(y), J=float(bonds[d][x]))
    return graph


def identical_chains(first, second, key, num_sweeps=20):
    step = jax.jit(block_gibbs.build_kernel(num_sweeps=num_sweeps))
    start = first.uniform_configuration(key)
    key_step = jax.random.key(7)
    a, _ = step(jax.random.clone(key_step), block_gibbs.init(start, first), first)
    b, _ = step(jax.random.clone(key_step), block_gibbs.init(start, second), second)
    np.testing.assert_array_equal(a.position, b.position)


@pytest.fixture(params=["unrolled", "looped"])
def half_sweeps(request, monkeypatch):
    """Force the lattice (stencil) paths on small lattices, both ways: both half-sweeps in one
    loop body, or one each."""
    monkeypatch.setattr(block_gibbs, "MIN_STENCIL_SITES", 0)
    looped_from = 0 if request.param == "looped" else 10**9
    monkeypatch.setattr(block_gibbs, "MIN_LOOPED_HALF_SWEEP_SITES", looped_from)
    return request.param


@pytest.mark.parametrize("shape", [(6, 4), (4, 6, 4)])
def test_packed_checkerboard_and_neighbour_lists_give_identical_chains(shape, key, half_sweeps):
    lattice = ps.Ising.lattice(shape, field=0.25, beta=0.6)
    graph = ps.Ising(lattice_as_graph(shape, np.ones((len(shape), *shape))), field=0.25, beta=0.6)
    assert lattice.uniform_coupling is not None and graph.lattice_shape is None
    identical_chains(lattice, graph, key)


def test_stencil_with_bond_couplings_and_neighbour_lists_give_identical_chains(key, half_sweeps):
    shape = (6, 4)
    bonds = np.random.default_rng(8).choice([-1.0, -0.5, 0.5, 1.0], size=(2, *shape))
    lattice = ps.Ising.lattice(shape, coupling=bonds, field=0.25, beta=0.6)
    graph = ps.Ising(lattice_as_graph(shape, bonds), coupling="J", field=0.25, beta=0.6)
    assert lattice.uniform_coupling is None and lattice.lattice_shape == shape
    identical_chains(lattice, graph, key)


def test_packed_checkerboard_matches_exact_distribution(key, half_sweeps):
    model = ps.Ising.lattice((4, 4), coupling=-0.7, field=0.2, beta=0.5)  # disordered phase
    assert model.uniform_coupling is not None
    draws, _ = run(model, key, num_chains=8, num_draws=4000)
    assert_matches_exact(model, draws)


def test_step_compiles_once_per_shape(key):
    assert_step_compiles_once(block_gibbs, key)


def test_beta_zero_gives_independent_fair_units(key):
    model = ps.Ising.lattice((16, 16), beta=0.0)
    draws, _ = run(model, key, num_chains=4, num_draws=200)
    up = (draws == 1).mean()
    assert abs(up - 0.5) < 4 * 0.5 / np.sqrt(draws.size)


def test_info_reports_flip_fraction(key):
    model = ps.Ising.lattice((8, 8), beta=0.0)
    _, infos = run(model, key, num_chains=2, num_draws=50)
    assert infos.flip_fraction.shape == (2, 50)
    assert abs(float(infos.flip_fraction.mean()) - 0.5) < 0.05


@pytest.mark.parametrize("beta", [pytest.param(0.3, marks=pytest.mark.slow), BETA_CRITICAL, 0.6])
def test_lattice_energy_matches_kaufman(beta, key):
    size = 16
    model = ps.Ising.lattice((size, size), beta=beta)
    key_init, key_warm, key_run = jax.random.split(key, 3)
    starts = model.uniform_configuration(key_init, (8,))
    states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
    step = block_gibbs.build_kernel()
    states, _, _ = sample_chains(key_warm, step, states, model, num_draws=1, thinning=500)
    _, draws, _ = sample_chains(key_run, step, states, model, num_draws=4000)
    energy = np.asarray(model.energy(draws)) / model.num_sites
    assert_mean_close(energy, ising2d_energy_per_site(size, size, beta))


def test_dense_model_loops_over_many_blocks_and_matches_exact(key):
    rng = np.random.default_rng(9)
    matrix = rng.normal(0, 1 / np.sqrt(10), (10, 10))
    matrix = np.triu(matrix, 1) + np.triu(matrix, 1).T
    model = ps.Ising.from_matrix(matrix, field=rng.normal(0, 0.3, 10), beta=1.5)
    assert model.num_colors > block_gibbs.MAX_UNROLLED_BLOCKS
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


def test_hopfield_samples_as_a_pairwise_model(key):
    patterns = np.where(np.random.default_rng(10).random((2, 10)) < 0.5, -1, 1)
    model = ps.Hopfield.from_patterns(patterns, beta=2.0)
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)
