from typing import NamedTuple

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_rbm
from scipy import stats
from stats import ALPHA, assert_matches_exact

import physsamp as ps
from physsamp import exact
from physsamp.kernels import block_gibbs, sample_chains
from physsamp.kernels.houdayer import houdayer_move, houdayer_moves

batched_move = jax.jit(jax.vmap(houdayer_move, in_axes=(0, 0, 0, None)))


def spin_glass_lattice(size: int, seed: int) -> ps.Ising:
    """A periodic 2D ±J lattice with random fields."""
    rng = np.random.default_rng(seed)
    coupling = rng.choice([-1.0, 1.0], (2, size, size))
    field = rng.normal(0.0, 0.5, size * size)
    return ps.Ising.lattice((size, size), coupling=coupling, field=field, beta=1.0)


def two_replicas(model: ps.Ising) -> ps.Ising:
    """The pair (a, b) as one model on twice the sites: p(a, b) = p(a) p(b)."""
    edges, couplings = np.asarray(model.edges), np.asarray(model.edge_couplings, np.float64)
    matrix = np.zeros((model.num_sites, model.num_sites))
    matrix[edges[:, 0], edges[:, 1]] = matrix[edges[:, 1], edges[:, 0]] = couplings
    both = np.kron(np.eye(2), matrix)
    field = np.tile(np.asarray(model.field, np.float64), 2)
    return ps.Ising.from_matrix(both, field=field, beta=model.beta)


def energies(model: ps.Ising, x) -> np.ndarray:
    """E(x) in float64 from the model's edge list."""
    spins = np.asarray(x, np.float64)
    edges = np.asarray(model.edges)
    couplings = np.asarray(model.edge_couplings, np.float64)
    pairs = spins[..., edges[:, 0]] * spins[..., edges[:, 1]]
    return -pairs @ couplings - spins @ np.asarray(model.field, np.float64)


def three_kinds_of_pairs(model, key, num_pairs):
    """Independent uniform pairs, pairs that differ on about one site in eight, equal pairs."""
    key_a, key_b, key_near = jax.random.split(key, 3)
    a = model.uniform_configuration(key_a, (num_pairs,))
    b = model.uniform_configuration(key_b, (num_pairs,))
    near = jnp.where(jax.random.bernoulli(key_near, 0.125, a.shape), -a, a).astype(jnp.int8)
    return jnp.concatenate([a, a, a]), jnp.concatenate([b, near, a])


def random_graph_with_zero_couplings() -> ps.Ising:
    graph = nx.gnm_random_graph(40, 80, seed=1)
    rng = np.random.default_rng(1)
    coupling = rng.normal(0.0, 1.0, 80)
    coupling[::5] = 0.0  # zero couplings join no clusters
    return ps.Ising(graph, coupling=coupling, field=rng.normal(0.0, 0.5, 40))


MODELS = {
    "random-graph": random_graph_with_zero_couplings,
    "periodic-lattice": lambda: spin_glass_lattice(8, seed=2),
}
NUM_PAIRS = 100  # of each kind


def interaction_components(model, disagree):
    """Components, as sets, of the graph of nonzero couplings restricted to ``disagree``."""
    graph = nx.Graph()
    graph.add_nodes_from(np.flatnonzero(disagree).tolist())
    for (i, j), coupling in zip(
        np.asarray(model.edges), np.asarray(model.edge_couplings), strict=True
    ):
        if coupling != 0 and disagree[i] and disagree[j]:
            graph.add_edge(int(i), int(j))
    return [set(component) for component in nx.connected_components(graph)]


@pytest.mark.parametrize("model_name", list(MODELS))
def test_move_conserves_energy_sum_and_exchanges_one_cluster(model_name):
    """One move on each of 3 * NUM_PAIRS pairs (independent, close, equal) of a model with
    fields, by houdayer_move (vmapped) and houdayer_moves. One test per model: the checks
    share one compilation."""
    model = MODELS[model_name]()
    key_pairs, key_move = jax.random.split(jax.random.key(11))
    key_same = jax.random.clone(key_move)
    a, b = three_kinds_of_pairs(model, key_pairs, NUM_PAIRS)
    new_a, new_b, info = batched_move(jax.random.split(key_move, len(a)), a, b, model)
    # houdayer_moves (every pair labelled at once) makes the very same moves
    together = jax.jit(houdayer_moves)(key_same, a, b, model)
    for mine, reference in zip(jax.tree.leaves(together), jax.tree.leaves((new_a, new_b, info)),
                               strict=True):  # fmt: skip
        np.testing.assert_array_equal(mine, reference)
    a, b, new_a, new_b = map(np.asarray, (a, b, new_a, new_b))
    cluster_size, num_disagreeing = np.asarray(info.cluster_size), info.num_disagreeing

    # the sum of the energies is conserved, while each replica's energy changes
    before = energies(model, a) + energies(model, b)
    np.testing.assert_allclose(energies(model, new_a) + energies(model, new_b), before,
                               rtol=0, atol=1e-9)  # fmt: skip
    changed = energies(model, new_a) != energies(model, a)
    assert changed[: 2 * NUM_PAIRS].mean() > 0.5
    assert len(np.unique(cluster_size)) > 5

    # the cluster is one component of the disagreeing sites (networkx, some pairs of each
    # kind), exchanged between the replicas
    for k in [*range(10), *range(NUM_PAIRS, NUM_PAIRS + 10)]:
        disagree = a[k] != b[k]
        flipped = set(np.flatnonzero(new_a[k] != a[k]).tolist())
        assert flipped == set(np.flatnonzero(new_b[k] != b[k]).tolist())
        assert flipped in interaction_components(model, disagree)  # connected, maximal
        assert cluster_size[k] == len(flipped)
        assert num_disagreeing[k] == disagree.sum()
    np.testing.assert_array_equal(new_a * new_b, a * b)  # overlaps kept
    flipped = new_a != a
    np.testing.assert_array_equal(new_a[flipped], b[flipped])
    np.testing.assert_array_equal(flipped.sum(axis=1), cluster_size)

    # equal replicas are left alone
    equal = slice(2 * NUM_PAIRS, None)
    np.testing.assert_array_equal(new_a[equal], a[equal])
    np.testing.assert_array_equal(new_b[equal], a[equal])
    assert (cluster_size[equal] == 0).all() and (num_disagreeing[equal] == 0).all()


#: five spins on a ring with a chord (0, 2), random couplings and fields: the exactness tests
SMALL = ps.Ising(nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2)]),
                 coupling=np.random.default_rng(7).normal(0.0, 1.0, 6),
                 field=np.random.default_rng(8).normal(0.0, 0.5, 5), beta=1.0)  # fmt: skip
NUM_EXACT_PAIRS = 100_000


def test_cluster_is_chosen_in_proportion_to_its_size(key):
    """Disagreements on {1} and {3, 4} of the ring: a uniform disagreeing site picks the
    larger cluster with probability 2/3."""
    a = jnp.ones((NUM_EXACT_PAIRS, 5), jnp.int8)
    b = jnp.tile(jnp.array([1, -1, 1, -1, -1], jnp.int8), (NUM_EXACT_PAIRS, 1))
    _, _, info = batched_move(jax.random.split(key, NUM_EXACT_PAIRS), a, b, SMALL)
    sizes = np.asarray(info.cluster_size)
    assert set(np.unique(sizes)) == {1, 2}
    assert stats.binomtest(int((sizes == 2).sum()), NUM_EXACT_PAIRS, 2 / 3).pvalue > ALPHA


def pearson_against_exact(model, draws, min_expected=20.0):
    """Pearson's chi-square of independent draws ``[draw, site]`` against the exact
    distribution, states expected fewer than ``min_expected`` times pooled into one bin."""
    expected = exact.probabilities(model) * len(draws)
    observed = np.bincount(exact.state_index(model, draws), minlength=expected.size)
    rare = expected < min_expected
    expected = np.append(expected[~rare], expected[rare].sum())
    observed = np.append(observed[~rare], observed[rare].sum())
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return statistic, stats.chi2.sf(statistic, len(expected) - 1)


def test_move_keeps_exact_pairs_exact(key):
    """Independent exact draws of (a, b), one move each: still exact draws of p(a) p(b)."""
    joint = two_replicas(SMALL)
    rng = np.random.default_rng(7)
    pairs = exact.states(joint)[rng.choice(2**10, NUM_EXACT_PAIRS, p=exact.probabilities(joint))]
    a, b = jnp.asarray(pairs[:, :5]), jnp.asarray(pairs[:, 5:])
    new_a, new_b, info = batched_move(jax.random.split(key, NUM_EXACT_PAIRS), a, b, SMALL)
    sizes = np.asarray(info.cluster_size)
    partial = sizes < np.asarray(info.num_disagreeing)
    assert np.mean(sizes > 0) > 0.5 and np.mean(partial) > 0.05  # some moves exchange part
    statistic, p_value = pearson_against_exact(joint, np.concatenate([new_a, new_b], axis=1))
    assert p_value > ALPHA, f"chi2 = {statistic:.1f} (p = {p_value:.2e})"


class ReplicaPair(NamedTuple):
    """Two replicas side by side, ``position = [a, b]``, for :func:`sample_chains`."""

    position: jax.Array


GIBBS = block_gibbs.build_kernel()


def gibbs_then_houdayer(rng_key, state, model):
    key_a, key_b, key_move = jax.random.split(rng_key, 3)
    a, b = jnp.split(state.position, 2)
    a = GIBBS(key_a, block_gibbs.init(a, model), model)[0].position
    b = GIBBS(key_b, block_gibbs.init(b, model), model)[0].position
    a, b, info = houdayer_move(key_move, a, b, model)
    return ReplicaPair(jnp.concatenate([a, b])), info


@pytest.mark.slow  # by default: test_move_keeps_exact_pairs_exact
def test_gibbs_with_houdayer_matches_exact_joint_distribution(key):
    """A block Gibbs sweep on each replica, then a move; draws correlated: ESS-based test."""
    joint = two_replicas(SMALL)
    key_init, key_run = jax.random.split(key)
    starts = ReplicaPair(joint.uniform_configuration(key_init, (16,)))
    _, draws, infos = sample_chains(key_run, gibbs_then_houdayer, starts, SMALL,
                                    num_draws=3000)  # fmt: skip
    assert np.mean(np.asarray(infos.cluster_size) > 0) > 0.3
    assert_matches_exact(joint, np.asarray(draws))


@pytest.mark.slow
def test_jit_and_vmap_over_pairs_and_temperatures():
    """Moves vmapped over pairs and a ladder of temperatures (as parallel tempering vmaps over
    its replicas) equal one-pair moves with the same keys; changing beta, which the move never
    reads, does not recompile."""
    model = spin_glass_lattice(8, seed=2)

    def pairs_and_keys():
        key_pairs, key_move = jax.random.split(jax.random.key(12))
        a, b = three_kinds_of_pairs(model, key_pairs, NUM_PAIRS)
        return a, b, jax.random.split(key_move, len(a))

    a, b, keys = pairs_and_keys()
    ladder = jax.jit(jax.vmap(lambda k, x, y, beta: houdayer_move(k, x, y, model.with_beta(beta))))
    new_a, new_b, info = ladder(keys, a, b, jnp.linspace(0.1, 2.0, len(a)))
    assert (np.asarray(info.cluster_size)[: 2 * NUM_PAIRS] > 0).mean() > 0.9
    single = jax.jit(houdayer_move)
    for k, beta in [(0, 0.3), (NUM_PAIRS + 1, 2.0), (2 * NUM_PAIRS + 2, 1.0)]:
        a, b, keys = pairs_and_keys()
        one_a, one_b, one_info = single(keys[k], a[k], b[k], model.with_beta(beta))
        np.testing.assert_array_equal(one_a, new_a[k])
        np.testing.assert_array_equal(one_b, new_b[k])
        assert int(one_info.cluster_size) == int(info.cluster_size[k])
    assert single._cache_size() == 1


def test_refuses_other_models_and_batches():
    boltzmann = random_boltzmann(4, 1.0, seed=1)
    x = jnp.zeros(4, jnp.int8)
    with pytest.raises(TypeError, match="spin_form"):
        jax.jit(houdayer_move)(jax.random.key(0), x, x, boltzmann)
    rbm = random_rbm(4, 2, 1.0, seed=1)
    with pytest.raises(TypeError, match="RBM"):
        houdayer_move(jax.random.key(0), x, x, rbm)
    model = ps.Ising.lattice((4, 4))
    batch = jnp.ones((2, 16), jnp.int8)
    with pytest.raises(ValueError, match="vmap"):
        houdayer_move(jax.random.key(0), batch, batch, model)
