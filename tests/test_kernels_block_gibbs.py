import jax
import networkx as nx
import numpy as np
import pytest

import physsamp as ps
from physsamp.kernels import block_gibbs, sample_chains
from stats import assert_matches_exact, chi_square_against_exact, ALPHA
from models_fixtures import random_boltzmann, random_ising, random_rbm

NUM_CHAINS, NUM_DRAWS = 16, 3000


def run(model, key, generator="hash", num_chains=NUM_CHAINS, num_draws=NUM_DRAWS):
    key_init, key_run = jax.random.split(key)
    starts = model.uniform_configuration(key_init, (num_chains,))
    states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
    step = block_gibbs.build_kernel(generator=generator)
    _, draws, infos = sample_chains(key_run, step, states, model, num_draws=num_draws)
    return np.asarray(draws), infos


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.0])
def test_ising_matches_exact_distribution(beta, key):
    model = random_ising(10, beta, seed=1)
    assert model.num_colors >= 3  # a non-bipartite graph: the greedy colouring path
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.0])
def test_boltzmann_machine_matches_exact_distribution(beta, key):
    draws, _ = run(random_boltzmann(10, beta, seed=2), key)
    assert_matches_exact(random_boltzmann(10, beta, seed=2), draws)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.0])
def test_rbm_matches_exact_distribution(beta, key):
    model = random_rbm(9, 5, beta, seed=3)
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


def test_jax_generator_matches_exact_distribution(key):
    model = random_ising(9, 1.0, seed=1)
    draws, _ = run(model, key, generator="jax")
    assert_matches_exact(model, draws)


def test_lattice_with_fields_matches_exact_distribution(key):
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


def test_stencil_and_neighbour_list_paths_give_identical_chains(key):
    lattice = ps.Ising.lattice((6, 4), field=0.25, beta=0.6)
    graph = ps.Ising(nx.grid_2d_graph(6, 4, periodic=True), field=0.25, beta=0.6)
    assert lattice.lattice_shape is not None and graph.lattice_shape is None
    step = jax.jit(block_gibbs.build_kernel(num_sweeps=20))
    start = lattice.uniform_configuration(key)
    key_step = jax.random.key(7)
    a, _ = step(jax.random.clone(key_step), block_gibbs.init(start, lattice), lattice)
    b, _ = step(jax.random.clone(key_step), block_gibbs.init(start, graph), graph)
    np.testing.assert_array_equal(a.position, b.position)


def test_step_compiles_once_per_shape(key):
    model = ps.Ising.lattice((8, 8), beta=0.3)
    step = jax.jit(block_gibbs.build_kernel())
    state = block_gibbs.init(model.uniform_configuration(key), model)
    state, _ = step(jax.random.key(1), state, model)
    for beta in (0.1, 0.5, 0.9):
        state, _ = step(jax.random.key(2), state, model.with_beta(beta))
    assert step._cache_size() == 1


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
