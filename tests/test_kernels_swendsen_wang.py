import copy
import time

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from checks import assert_step_compiles_once
from models_fixtures import random_boltzmann, random_ising, random_rbm
from stats import ALPHA, assert_matches_exact, assert_mean_close, chi_square_against_exact

import physsamp as ps
from physsamp import exact
from physsamp.diagnostics import integrated_autocorrelation_time
from physsamp.kernels import block_gibbs, sample_chains, swendsen_wang
from physsamp.kernels.swendsen_wang import _connected_components
from physsamp.lattice_exact import BETA_CRITICAL, ising2d_energy_per_site

NUM_CHAINS, NUM_DRAWS = 16, 3000


def run(model, key, num_chains=NUM_CHAINS, num_draws=NUM_DRAWS, thinning=1, **kernel_options):
    key_init, key_run = jax.random.split(key)
    starts = model.uniform_configuration(key_init, (num_chains,))
    states = jax.vmap(swendsen_wang.init, (0, None))(starts, model)
    step = swendsen_wang.build_kernel(**kernel_options)
    _, draws, infos = sample_chains(key_run, step, states, model, num_draws=num_draws,
                                    thinning=thinning)  # fmt: skip
    return np.asarray(draws), infos


def networkx_labels(num_sites, edges):
    graph = nx.Graph()
    graph.add_nodes_from(range(num_sites))
    graph.add_edges_from(edges)
    labels = np.empty(num_sites, dtype=np.int64)
    for component in nx.connected_components(graph):
        labels[list(component)] = min(component)
    return labels


def test_labelling_matches_networkx():
    rng = np.random.default_rng(0)
    label = jax.jit(_connected_components, static_argnums=2)
    cases = [(1, 0), (40, 200), (300, 150), (1000, 1500)]
    for trial, (num_sites, num_edges) in enumerate(cases):
        graph = nx.gnm_random_graph(num_sites, num_edges, seed=trial)
        edges = np.array(graph.edges(), dtype=np.int32).reshape(-1, 2)
        active = rng.random(len(edges)) < 0.7
        labels, rounds = label(jnp.asarray(edges), jnp.asarray(active), num_sites)
        np.testing.assert_array_equal(labels, networkx_labels(num_sites, edges[active]))
        assert (int(rounds) == 0) == (not active.any())


def test_labelling_of_a_long_path_needs_few_rounds():
    """A path labelled in reverse order is the worst case of plain min-label propagation
    (one site per round); hooking with pointer jumping needs a handful of rounds."""
    num_sites = 4096
    order = np.arange(num_sites)[::-1].copy()
    edges = np.stack([order[:-1], order[1:]], axis=1).astype(np.int32)
    labels, rounds = _connected_components(jnp.asarray(edges), jnp.ones(len(edges), bool),
                                           num_sites)  # fmt: skip
    assert (np.asarray(labels) == 0).all()
    assert int(rounds) <= 3


@pytest.mark.parametrize(
    ("beta", "thinning"),
    [
        (0.3, 1),
        pytest.param(1.0, 1, marks=pytest.mark.slow),
        pytest.param(2.0, 10, marks=pytest.mark.slow),
    ],
)
def test_ising_matches_exact_distribution(beta, thinning, key):
    """Frustrated couplings of both signs, random fields. At beta = 2 the clusters of this
    frustrated model percolate and SW mixes slowly (ESS ~ 1% of the draws): thinned, slow."""
    model = random_ising(10, beta, seed=1)
    couplings = np.asarray(model.edge_couplings)
    assert (couplings > 0).any() and (couplings < 0).any()
    draws, _ = run(model, key, thinning=thinning)
    assert_matches_exact(model, draws)


@pytest.mark.parametrize(
    ("beta", "num_sweeps"), [pytest.param(0.3, 1, marks=pytest.mark.slow), (1.0, 1), (2.0, 2)]
)
def test_boltzmann_machine_matches_exact_distribution(beta, num_sweeps, key):
    model = random_boltzmann(10, beta, seed=2)
    draws, infos = run(model, key, num_sweeps=num_sweeps)
    assert infos.num_clusters.shape == (NUM_CHAINS, NUM_DRAWS)
    assert set(np.unique(draws)) <= {0, 1}
    assert_matches_exact(model, draws)


@pytest.mark.slow
def test_sherrington_kirkpatrick_matches_exact_distribution(key):
    """A dense spin glass (J_ij ~ N(0, 1/N)) at its critical temperature, beta = 1."""
    rng = np.random.default_rng(4)
    num_sites = 9
    couplings = np.triu(rng.normal(0.0, 1.0 / np.sqrt(num_sites), (num_sites, num_sites)), 1)
    model = ps.Ising.from_matrix(couplings + couplings.T, field=rng.normal(0, 0.3, num_sites),
                                 beta=1.0)  # fmt: skip
    draws, _ = run(model, key)
    assert_matches_exact(model, draws)


@pytest.mark.slow
def test_periodic_lattice_with_fields_matches_exact_distribution(key):
    rng = np.random.default_rng(5)
    model = ps.Ising.lattice((4, 4), coupling=rng.normal(0.4, 0.5, (2, 4, 4)),
                             field=rng.normal(0, 0.3, 16), beta=0.8)  # fmt: skip
    assert model.lattice_shape == (4, 4)  # the roll-based lattice path
    draws, _ = run(model, key)
    assert_matches_exact(model, draws, min_ess=1000)


@pytest.mark.slow
def test_jax_generator_matches_exact_distribution(key):
    model = random_ising(9, 1.0, seed=1)
    draws, _ = run(model, key, generator="jax")
    assert_matches_exact(model, draws)


def test_check_detects_a_wrong_temperature(key):
    """The exact-distribution check has power: chains at beta * 1.15 fail it."""
    model = random_ising(10, 1.0, seed=1)
    draws, _ = run(model.with_beta(1.15), key)
    _, _, p_value, _ = chi_square_against_exact(model, draws)
    assert p_value < ALPHA


def test_lattice_and_graph_paths_give_identical_chains(key):
    rng = np.random.default_rng(6)
    coupling = rng.normal(0.3, 1.0, (2, 6, 4))
    lattice = ps.Ising.lattice((6, 4), coupling=coupling, field=rng.normal(0, 0.3, 24),
                               beta=0.7)  # fmt: skip
    # The same model without its lattice structure: the kernel takes the edge-list path.
    graph = copy.copy(lattice)
    graph.lattice_shape = graph.bond_couplings = graph.uniform_coupling = None
    step = jax.jit(swendsen_wang.build_kernel(num_sweeps=10))
    start = lattice.uniform_configuration(key)
    key_step = jax.random.key(7)
    a, info_a = step(jax.random.clone(key_step), swendsen_wang.init(start, lattice), lattice)
    b, info_b = step(jax.random.clone(key_step), swendsen_wang.init(start, graph), graph)
    assert step._cache_size() == 2  # two paths were compiled
    np.testing.assert_array_equal(a.position, b.position)
    assert int(info_a.num_clusters) == int(info_b.num_clusters)
    assert int(info_a.largest_cluster) == int(info_b.largest_cluster)


def test_step_compiles_once_per_shape(key):
    assert_step_compiles_once(swendsen_wang, key)


def test_info_at_zero_and_infinite_coupling(key):
    model = ps.Ising.lattice((8, 8), beta=0.0)
    step = jax.jit(swendsen_wang.build_kernel())
    start = swendsen_wang.init(jnp.ones(64, jnp.int8), model)
    _, info = step(jax.random.clone(key), start, model)
    assert int(info.num_clusters) == 64 and int(info.largest_cluster) == 1
    assert int(info.labelling_iterations) == 0
    assert float(info.improved_m2) == pytest.approx(1 / 64)
    # Every bond of the aligned configuration is active with probability 1 - e^-200.
    _, info = step(jax.random.clone(key), start, model.with_beta(100.0))
    assert int(info.num_clusters) == 1 and int(info.largest_cluster) == 64
    assert float(info.improved_m2) == pytest.approx(1.0)


def test_improved_estimator_matches_exact_second_moment(key):
    model = ps.Ising.lattice((4, 4), beta=BETA_CRITICAL)
    exact_m2 = float(exact.expectation(model, lambda x: x.astype(np.float64).mean(-1) ** 2))
    _, infos = run(model, key, num_chains=8, num_draws=1000)
    assert_mean_close(np.asarray(infos.improved_m2), exact_m2)


def test_rbm_is_refused():
    model = random_rbm(4, 3, 1.0, seed=0)
    with pytest.raises(TypeError, match="RBM"):
        swendsen_wang.init(jnp.zeros(4, jnp.int8), model)


@pytest.mark.slow
def test_energy_at_critical_point_matches_kaufman(key):
    size = 16
    model = ps.Ising.lattice((size, size), beta=BETA_CRITICAL)
    draws, _ = run(model, key, num_chains=8, num_draws=800)
    energy = np.asarray(ps.diagnostics.observables(model, draws[:, 100:])["energy"])
    assert_mean_close(energy, ising2d_energy_per_site(size, size, BETA_CRITICAL))


def autocorrelation_times(model, step, init, key, num_chains, num_draws, burn_in):
    """tau_int of energy and |m| in steps, in the physics convention tau_int = 1/2 +
    sum_t rho(t), so that var(mean) = 2 tau_int var / n: tau_int = draws / (2 ESS)."""
    key_init, key_run = jax.random.split(key)
    starts = model.uniform_configuration(key_init, (num_chains,))
    states = jax.vmap(init, (0, None))(starts, model)
    _, draws, _ = sample_chains(key_run, step, states, model, num_draws=num_draws)
    values = ps.diagnostics.observables(model, draws[:, burn_in:])
    return {name: integrated_autocorrelation_time(np.asarray(values[name]))
            for name in ("energy", "abs_magnetization")}  # fmt: skip


#: tau_int at beta_c in sweeps (SW: Salas & Sokal, J. Stat. Phys. 87, 1 (1997); checkerboard
#: Gibbs |m|: about 132 at L = 32 and 657 at L = 64, z ~ 2.17)
LITERATURE_SW_TAU = {32: {"abs_magnetization": 3.5, "energy": 4.0},
                     64: {"abs_magnetization": 4.0, "energy": 4.9}}  # fmt: skip


@pytest.mark.slow
def test_autocorrelation_at_critical_point_stays_small(key):
    """At beta_c SW's tau_int of the energy and |m| are a few sweeps and grow slowly with L,
    while checkerboard Gibbs's grows like L^2.17. Measured here (8 chains x 1400 draws):
    |m| 3.0, 3.7, 4.1 and energy 3.3, 4.2, 4.7 at L = 16, 32, 64; Gibbs |m| ~35 and ~115
    at L = 16, 32 (short chains underestimate it)."""
    sw_step = swendsen_wang.build_kernel()
    gibbs_step = block_gibbs.build_kernel()
    taus = {}
    for size in (16, 32, 64):
        model = ps.Ising.lattice((size, size), beta=BETA_CRITICAL)
        key, key_sw, key_gibbs = jax.random.split(key, 3)
        taus[size] = autocorrelation_times(model, sw_step, swendsen_wang.init, key_sw,
                                           num_chains=8, num_draws=1500, burn_in=100)  # fmt: skip
        if size <= 32:
            taus[size, "gibbs"] = autocorrelation_times(
                model,
                gibbs_step,
                block_gibbs.init,
                key_gibbs,
                num_chains=8,
                num_draws=4000,
                burn_in=1000,
            )
    for size, observables in LITERATURE_SW_TAU.items():
        for name, literature in observables.items():
            # 1.6x the literature: ~5 standard errors of this tau estimate (ESS ~ 1500)
            assert taus[size][name] < 1.6 * literature, (size, name, taus)
    assert taus[16]["abs_magnetization"] < 1.6 * LITERATURE_SW_TAU[32]["abs_magnetization"]
    # nearly flat in L: sixteen times the sites, less than twice the tau
    assert taus[64]["abs_magnetization"] < 2.0 * taus[16]["abs_magnetization"], taus
    assert taus[64]["energy"] < 2.0 * taus[16]["energy"], taus
    # block Gibbs is far slower and grows fast (2^2.17 = 4.5 per doubling of L)
    for size in (16, 32):
        assert taus[size, "gibbs"]["abs_magnetization"] > 5 * taus[size]["abs_magnetization"]
    assert taus[32, "gibbs"]["abs_magnetization"] > 2.0 * taus[16, "gibbs"]["abs_magnetization"]


@pytest.mark.slow
def test_speed_smoke(key):
    """A 128x128 critical sweep takes well under a second once compiled."""
    model = ps.Ising.lattice((128, 128), beta=BETA_CRITICAL)
    step = jax.jit(swendsen_wang.build_kernel(num_sweeps=5))
    state = swendsen_wang.init(model.uniform_configuration(key), model)
    state, _ = step(jax.random.key(1), state, model)
    jax.block_until_ready(state)
    started = time.perf_counter()
    state, info = step(jax.random.key(2), state, model)
    jax.block_until_ready(state)
    assert (time.perf_counter() - started) / 5 < 0.5
    assert int(info.labelling_iterations) <= 12
