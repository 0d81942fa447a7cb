import itertools
import time

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_ising

import physsamp as ps
from physsamp.kernels import ais, block_gibbs


def brute_force_energy(graph, couplings, fields, x):
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    energy = -sum(
        c * x[index[u]] * x[index[v]] for (u, v), c in zip(graph.edges, couplings, strict=True)
    )
    return energy - sum(f * xi for f, xi in zip(fields, x, strict=True))


def test_ising_energy_matches_definition_on_labelled_graph():
    graph = nx.relabel_nodes(nx.petersen_graph(), {i: f"n{i}" for i in range(10)})
    rng = np.random.default_rng(0)
    couplings = rng.normal(size=graph.number_of_edges())
    fields = rng.normal(size=10)
    model = ps.Ising(graph, coupling=couplings, field=fields, beta=0.7)
    x = rng.choice([-1, 1], size=(6, 10)).astype(np.int8)
    expected = [brute_force_energy(graph, couplings, fields, row) for row in x]
    np.testing.assert_allclose(model.energy(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.log_prob(x), -0.7 * np.asarray(expected), rtol=1e-5)
    assert model.nodes[0] == "n0" and model.by_node(x[0])["n3"] == x[0, 3]


def test_couplings_and_fields_from_attributes():
    graph = nx.path_graph(3)
    nx.set_edge_attributes(graph, {(0, 1): 2.0, (1, 2): -1.0}, "J")
    nx.set_node_attributes(graph, {0: 0.5, 1: 0.0, 2: -0.5}, "h")
    model = ps.Ising(graph, coupling="J", field="h")
    assert float(model.energy([1, 1, 1])) == pytest.approx(-(2.0 - 1.0) - 0.0)


def test_boltzmann_machine_energy_and_spin_form():
    model = random_boltzmann(8, 1.3, seed=0)
    x = np.array(list(itertools.product([0, 1], repeat=8)), dtype=np.int8)
    couplings, fields, offset = model.spin_form()
    spin_model = ps.Ising(nx.empty_graph(8), beta=1.3)  # placeholder for arrays
    s = 2.0 * x - 1.0
    edges = np.asarray(model.edges)
    ising_energy = -(s[:, edges[:, 0]] * s[:, edges[:, 1]]) @ np.asarray(
        couplings
    ) - s @ np.asarray(fields)
    np.testing.assert_allclose(model.energy(x), ising_energy + float(offset), atol=1e-4)
    assert spin_model.num_sites == 8


@pytest.mark.slow
def test_lattice_stencil_energy_equals_edge_energy():
    rng = np.random.default_rng(1)
    for shape, periodic in [((6, 4), True), ((5, 3), False), ((4, 4, 4), True), ((7,), False)]:
        dims = len(shape)
        model = ps.Ising.lattice(shape, coupling=rng.integers(-2, 3, (dims, *shape)),
                                 field=rng.integers(-1, 2, shape), periodic=periodic)  # fmt: skip
        x = rng.choice([-1, 1], size=(5, model.num_sites)).astype(np.int8)
        stencil = model.energy(x) if model.lattice_shape else None
        edge = model._edge_energy(jnp.asarray(x, jnp.float32))
        if stencil is not None:
            np.testing.assert_array_equal(stencil, edge)


def test_lattice_matches_networkx_grid():
    lattice = ps.Ising.lattice((5, 6), beta=0.4)
    grid = ps.Ising(nx.grid_2d_graph(5, 6, periodic=True), beta=0.4)
    assert lattice.nodes == grid.nodes
    x = lattice.uniform_configuration(jax.random.key(0), (4,))
    np.testing.assert_array_equal(lattice.energy(x), grid.energy(x))
    assert lattice.lattice_shape is None  # odd periodic extent: not bipartite, generic path
    assert 3 <= lattice.num_colors <= 5  # greedy: at most max degree + 1


def test_from_matrix_sk_model():
    rng = np.random.default_rng(2)
    matrix = rng.normal(0, 1 / np.sqrt(12), (12, 12))
    matrix = np.triu(matrix, 1) + np.triu(matrix, 1).T
    model = ps.Ising.from_matrix(matrix, field=0.1, beta=1.0)
    assert model.num_colors == 12
    x = np.where(rng.random((3, 12)) < 0.5, -1, 1).astype(np.int8)
    expected = -0.5 * np.einsum("bi,ij,bj->b", x, matrix, x) - 0.1 * x.sum(1)
    np.testing.assert_allclose(model.energy(x), expected, rtol=1e-5)
    np.testing.assert_allclose(model.coupling_matrix(), matrix, atol=1e-6)


def test_with_beta_does_not_rebuild_or_recompile():
    model = random_ising(10, 0.5, seed=3)
    energy = jax.jit(lambda m, x: m.log_prob(x))
    x = jnp.ones(10, jnp.int8)
    values = [float(energy(model.with_beta(b), x)) for b in (0.1, 0.2, 0.3)]
    assert energy._cache_size() == 1
    np.testing.assert_allclose(np.array(values) / [0.1, 0.2, 0.3], values[0] / 0.1, rtol=1e-5)
    assert model.with_beta(0.2).neighbors is model.neighbors


def test_model_is_a_pytree():
    model = random_ising(6, 0.5, seed=4)
    leaves, tree = jax.tree.flatten(model)
    rebuilt = jax.tree.unflatten(tree, leaves)
    assert isinstance(rebuilt, ps.Ising) and rebuilt.num_sites == 6


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ps.Ising(nx.Graph()), "no nodes"),
        (lambda: ps.Ising(nx.DiGraph([(0, 1)])), "directed"),
        (lambda: ps.Ising(nx.Graph([(0, 0), (0, 1)])), "self-loop at node 0"),
        (lambda: ps.Ising(nx.path_graph(3), coupling=[1.0]), "shape"),
        (lambda: ps.Ising(nx.path_graph(3), coupling=[1.0, np.nan]), "not finite at index 1"),
        (lambda: ps.Ising(nx.path_graph(3), field=[0, np.inf, 0]), "field is not finite"),
        (lambda: ps.Ising(nx.path_graph(3), beta=-1.0), "non-negative"),
        (lambda: ps.Ising(nx.path_graph(3), beta=np.nan), "finite"),
        (lambda: ps.Ising(nx.path_graph(3), coupling="J"), "no attribute 'J'"),
        (
            lambda: ps.Ising.from_matrix([[0, 0.5], [0.1, 0]]),
            r"J\[0, 1\] = 0.5 but J\[1, 0\] = 0.1",
        ),
        (lambda: ps.Ising.from_matrix([[1.0, 0], [0, 0]]), "diagonal"),
        (lambda: ps.Ising.lattice((4, 2)), "extent >= 3"),
        (lambda: ps.Ising.lattice((4, 4), coupling=np.ones(3)), "lattice coupling"),
        (lambda: ps.Ising(nx.path_graph(3), coloring=[0, 0, 1]), "same block"),
        (lambda: ps.RBM(np.ones((3, 2)), visible_bias=np.ones(2)), "visible bias"),
        (lambda: ps.Hopfield.from_patterns([[1, 0, 1]]), "-1/\\+1"),
    ],
)
def test_bad_input_raises_clear_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_out_of_support_values_raise_with_validation():
    model = ps.Ising(nx.path_graph(3), validate_args=True)
    with pytest.raises(ValueError, match="outside the support"):
        model.log_prob(np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="3 sites"):
        model.log_prob(np.array([1, 1]))
    bm = ps.BoltzmannMachine(nx.path_graph(3), validate_args=True)
    with pytest.raises(ValueError, match="outside the support"):
        bm.log_prob(np.array([1, -1, 1]))


def test_sample_explains_how_to_sample():
    with pytest.raises(NotImplementedError, match=r"physsamp\.infer\.BlockGibbs"):
        ps.Ising(nx.path_graph(3)).sample(jax.random.key(0))


def test_user_coloring_is_used_and_verified():
    model = ps.Ising(nx.path_graph(4), coloring={0: 5, 1: 7, 2: 5, 3: 7})
    assert [b.tolist() for b in model.blocks] == [[0, 2], [1, 3]]


# a build-time check on 1024^2 sites (20 s)
@pytest.mark.slow
def test_large_models_build_fast():
    start = time.perf_counter()
    lattice = ps.Ising.lattice((1024, 1024), beta=0.44)
    assert lattice.num_sites == 1024**2
    graph = nx.random_regular_graph(4, 500_000, seed=0)  # 10^6 edges
    model = ps.Ising(graph, beta=0.3)
    assert model.edges.shape == (1_000_000, 2)
    assert time.perf_counter() - start < 60  # minutes would mean a Python loop per node


def test_rbm_free_energy_sums_hidden_units():
    rng = np.random.default_rng(5)
    rbm = ps.RBM(rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3), beta=0.8)
    v = np.array([1, 0, 1, 1], dtype=np.int8)
    hidden = np.array(list(itertools.product([0, 1], repeat=3)))
    joint = np.array([float(rbm.joint_energy(v, h)) for h in hidden])
    expected = np.log(np.exp(-0.8 * joint).sum())
    assert float(rbm.log_prob(v)) == pytest.approx(expected, rel=1e-5)
    assert float(rbm.energy(v)) == pytest.approx(-expected / 0.8, rel=1e-5)
    np.testing.assert_allclose(
        rbm.hidden_given_visible(v), 1 / (1 + np.exp(-0.8 * (v @ np.asarray(rbm.weights)
                                                            + np.asarray(rbm.hidden_bias)))),
        rtol=1e-5,
    )  # fmt: skip


def test_hopfield_recalls_patterns_from_corrupted_probes():
    rng = np.random.default_rng(6)
    num_sites, num_patterns = 200, 10  # load 0.05, well below capacity 0.138
    patterns = np.where(rng.random((num_patterns, num_sites)) < 0.5, -1, 1)
    net = ps.Hopfield.from_patterns(patterns)
    recalled = 0
    for pattern in patterns:
        probe = pattern.copy()
        flip = rng.choice(num_sites, num_sites // 10, replace=False)
        probe[flip] *= -1
        recalled += bool((np.asarray(net.recall(probe)) == pattern).all())
    assert recalled == num_patterns
    # the stored patterns are fixed points and energy minima
    assert (np.asarray(net.recall(patterns[0])) == patterns[0]).all()


def test_hopfield_over_capacity_fails_to_recall():
    rng = np.random.default_rng(7)
    num_sites = 100
    patterns = np.where(rng.random((40, num_sites)) < 0.5, -1, 1)  # load 0.4
    net = ps.Hopfield.from_patterns(patterns)
    exact_recalls = sum(bool((np.asarray(net.recall(p)) == p).all()) for p in patterns[:10])
    assert exact_recalls < 10


def test_equal_models_share_compiled_functions():
    energy = jax.jit(lambda m, x: m.energy(x))
    x = jnp.ones(16, jnp.int8)
    energy(ps.Ising.lattice((4, 4), beta=0.3), x)
    energy(ps.Ising.lattice((4, 4), beta=0.5), x)
    assert energy._cache_size() == 1


def dot_precisions(function, *args):
    """The precision of every matrix product in ``function``'s jaxpr, nested ones included."""
    found = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "dot_general":
                found.append(eqn.params["precision"])
            for value in eqn.params.values():
                inner = getattr(value, "jaxpr", value)
                if hasattr(inner, "eqns"):
                    walk(inner)

    walk(jax.make_jaxpr(function)(*args).jaxpr)
    return found


def test_every_matrix_product_is_full_float32():
    """Products at XLA's default precision would be TensorFloat-32 on recent GPUs."""
    highest = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
    rbm = ps.RBM(np.ones((6, 3)) * 0.1, 0.2, -0.1)
    v, h = jnp.ones((4, 6), jnp.int8), jnp.zeros((4, 3), jnp.int8)
    ising = random_ising(8, 0.5, seed=0)
    lattice = ps.Ising.lattice((4, 4), beta=0.4, field=0.1)
    spins = jnp.ones((2, 16), jnp.int8)
    path = ais.default_path(rbm)
    states = ais.rbm_init(v, path)
    step = ais.build_rbm_kernel()
    keys = step.round_keys(jax.random.key(0))[..., None].repeat(4, -1)
    gibbs = block_gibbs.build_kernel()
    lattice_path = ais.default_path(lattice)
    lattice_states = ais.lattice_init(spins, lattice_path)
    lattice_step = ais.build_lattice_kernel()
    lattice_keys = lattice_step.round_keys(jax.random.key(0))[..., None].repeat(2, -1)
    cases = {
        "rbm energy": (rbm.joint_energy, v, h),
        "rbm log_prob": (rbm.log_prob, v),
        "rbm conditionals": (
            lambda v, h: (rbm.hidden_given_visible(v), rbm.visible_given_hidden(h)),
            v,
            h,
        ),
        "edge energy": (ising.energy, spins[:, :8]),
        "lattice energy": (lattice.energy, spins),
        "ais increment": (lambda v: path.log_weight_increment(v, 0.1, 0.2), v),
        "ais rbm init": (lambda v: ais.rbm_init(v, path), v),
        "ais rbm step": (lambda k, s: step.step(k, s, path, 0.1, 0.2), keys, states),
        "block gibbs rbm": (
            lambda k: gibbs(k, block_gibbs.init(v[0], rbm), rbm),
            jax.random.key(1),
        ),
        "ais lattice step": (
            lambda k, s: lattice_step.step(k, s, lattice_path, 0.1, 0.2),
            lattice_keys,
            lattice_states,
        ),
    }
    for name, (function, *args) in cases.items():
        precisions = dot_precisions(function, *args)
        assert precisions, f"{name}: no matrix product found"
        assert all(p == highest for p in precisions), f"{name}: {precisions}"


# -- values outside the support: -inf / +inf, never a finite number ---------------------------
def _support_cases():
    rng = np.random.default_rng(8)
    patterns = np.where(rng.random((2, 6)) < 0.5, -1, 1)
    return {
        "ising": (lambda v: ps.Ising(nx.cycle_graph(6), 0.7, 0.1, 0.5, validate_args=v),
                  [[1, 0, 1, -1, 1, 1], [1, 2, 1, 1, -1, 1], [1, 1, 1, 1, 1, 0.5]], [1, -1] * 3),
        "lattice": (lambda v: ps.Ising.lattice((2, 3), beta=0.5, periodic=False, validate_args=v),
                    [[1, 0, 1, -1, 1, 1], [-2, 1, 1, 1, 1, 1]], [1, -1] * 3),
        "boltzmann": (lambda v: ps.BoltzmannMachine(nx.cycle_graph(6), 0.3, -0.2, validate_args=v),
                      [[1, -1, 1, 0, 0, 0], [0.5, 1, 0, 0, 1, 1], [2, 0, 0, 0, 0, 0]], [1, 0] * 3),
        "rbm": (lambda v: ps.RBM(rng.normal(size=(6, 3)), 0.1, -0.1, 0.8, validate_args=v),
                [[1, -1, 1, 0, 0, 0], [0.5, 1, 0, 0, 1, 1]], [0, 1] * 3),
        "hopfield": (lambda v: ps.Hopfield.from_patterns(patterns, 0.5, validate_args=v),
                     [[1, 0, 1, -1, 1, 1], [1, 1, 1, 1, 3, 1]], [1, -1] * 3),
    }  # fmt: skip


@pytest.mark.parametrize("name", ["ising", "lattice", "boltzmann", "rbm", "hopfield"])
def test_out_of_support_values_give_infinities_under_jit_and_vmap(name):
    build, bad, good = _support_cases()[name]
    values = jnp.asarray([*bad, good], jnp.float32)
    for validate in (True, False):
        model = build(validate)
        expected_log_prob = float(model.unnormalized_log_prob(jnp.asarray(good, jnp.float32)))
        for transform in (jax.jit, jax.vmap):
            log_prob = np.asarray(transform(model.log_prob)(values))
            energy = np.asarray(transform(model.energy)(values))
            assert np.all(log_prob[:-1] == -np.inf), (transform, log_prob)
            assert np.all(energy[:-1] == np.inf), (transform, energy)
            assert log_prob[-1] == pytest.approx(expected_log_prob, rel=1e-6)
            assert np.isfinite(energy[-1])
    unvalidated = build(False)
    assert np.all(np.asarray(unvalidated.log_prob(values[:-1])) == -np.inf)
    assert np.all(np.asarray(unvalidated.energy(values[:-1])) == np.inf)
    # the exact distribution follows the same convention
    normalized = ps.exact.normalized(unvalidated)
    assert np.all(np.asarray(jax.jit(normalized.log_prob)(values))[:-1] == -np.inf)


def test_out_of_support_check_leaves_valid_values_and_shapes_alone():
    model = random_ising(8, 0.5, seed=9)
    x = model.uniform_configuration(jax.random.key(0), (5,))
    np.testing.assert_array_equal(model.log_prob(x), model.unnormalized_log_prob(x))
    np.testing.assert_array_equal(model.energy(x), model.unchecked_energy(x))
    with pytest.raises(ValueError, match="8 sites, got values of shape"):
        jax.jit(model.log_prob)(jnp.ones(7, jnp.int8))  # a gather would clamp the index silently
    with pytest.raises(ValueError, match="8 sites"):
        jax.jit(model.energy)(jnp.ones((2, 9), jnp.int8))


def test_exact_state_index_refuses_values_outside_the_support():
    model = ps.Ising(nx.path_graph(3))
    with pytest.raises(ValueError, match="outside the support"):
        ps.exact.state_index(model, [[1, 0, 1]])


# -- couplings and fields as dicts; messages that name the item -------------------------------
def test_couplings_and_fields_as_dicts_match_arrays():
    graph = nx.relabel_nodes(nx.cycle_graph(4), {i: f"n{i}" for i in range(4)})
    values = {("n0", "n1"): 0.5, ("n2", "n1"): -1.0, ("n2", "n3"): 2.0, ("n0", "n3"): 0.25}
    fields = {"n3": 0.1, "n0": 0.2, "n1": 0.3, "n2": 0.4}
    model = ps.Ising(graph, coupling=values, field=fields)
    aligned = [values.get((u, v), values.get((v, u))) for u, v in graph.edges]
    reference = ps.Ising(graph, coupling=aligned, field=[fields[n] for n in graph.nodes])
    np.testing.assert_array_equal(model.edge_couplings, reference.edge_couplings)
    np.testing.assert_array_equal(model.field, reference.field)
    machine = ps.BoltzmannMachine(graph, weight=values, bias=fields)
    np.testing.assert_array_equal(machine.weights, reference.edge_couplings)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: ps.Ising(nx.path_graph(3), coupling={(0, 1): 0.5}), ValueError,
         r"coupling dict has no value for edge \(1, 2\)"),
        (lambda: ps.Ising(nx.path_graph(3), coupling={(0, 1): 1, (1, 2): 1, (0, 2): 1}),
         ValueError, r"value for \(0, 2\), not an edge"),
        (lambda: ps.Ising(nx.path_graph(3), coupling={(0, 1): 1, (1, 0): 2, (1, 2): 1}),
         ValueError, r"gives edge \(0, 1\) twice"),
        (lambda: ps.Ising(nx.path_graph(3), coupling={(0, 1): "strong", (1, 2): 1}), TypeError,
         r"coupling of edge \(0, 1\) must be a number, got 'strong'"),
        (lambda: ps.Ising(nx.path_graph(3), coupling={(0, 1): np.inf, (1, 2): 1}), ValueError,
         r"coupling of edge \(0, 1\) is not finite"),
        (lambda: ps.BoltzmannMachine(nx.path_graph(3), bias={0: 1.0, 1: 0.0}), ValueError,
         "bias dict has no value for node 2"),
        (lambda: ps.Ising(nx.path_graph(2), field={0: 1, 1: 2, "x": 3}), ValueError,
         "value for 'x', not a node"),
        (lambda: ps.Ising.lattice((4, 4), coupling={(0, 1): 1.0}), TypeError,
         r"coupling is a dict.*networkx graph"),
        (lambda: ps.RBM(np.ones((2, 2)), visible_bias={0: 1.0}), TypeError,
         "visible bias is a dict"),
        (lambda: ps.Ising(_with_edge_attribute("J", "strong"), coupling="J"), TypeError,
         r"edge \(1, 2\) has a non-numeric 'J' attribute 'strong'"),
        (lambda: ps.Ising(_with_edge_attribute("J", "0.5"), coupling="J"), TypeError,
         r"edge \(1, 2\) has a non-numeric 'J' attribute '0.5'"),
        (lambda: ps.Ising(_with_edge_attribute("J", np.nan), coupling="J"), ValueError,
         r"edge \(1, 2\) has a non-finite 'J' attribute"),
        (lambda: ps.Ising(_with_node_attribute("h", [1.0]), field="h"), TypeError,
         r"node 2 has a non-numeric 'h' attribute \[1.0\]"),
        (lambda: ps.Ising(nx.path_graph(3), coupling="0.5"), ValueError,
         r"no attribute '0.5'.*pass 0.5, not '0.5'"),
        (lambda: ps.Ising.lattice((4, 4), coupling="1.0"), TypeError,
         "coupling must be numeric, got '1.0'"),
        (lambda: ps.Ising(nx.path_graph(3), field=["1", "0", "1"]), TypeError,
         "field must be numeric"),
        (lambda: ps.RBM("weights"), TypeError, "weight matrix must be numeric"),
        (lambda: ps.Ising(nx.path_graph(3), beta="0.4"), TypeError,
         "beta must be a number, got the string '0.4'"),
        (lambda: ps.Ising.lattice((4, 4)).with_beta("0.4"), TypeError, "beta must be a number"),
        (lambda: ps.RBM(np.ones((2, 2)), beta="1"), TypeError, "beta must be a number"),
        (lambda: ps.Ising(nx.path_graph(3), beta=None), TypeError,
         "beta must be a number, got None"),
        (lambda: ps.Ising(nx.path_graph(3), beta=1j), TypeError, "beta must be a number"),
        (lambda: ps.Ising(nx.path_graph(3), beta=np.inf), ValueError, "beta must be finite"),
        (lambda: ps.Ising(nx.path_graph(3), beta=-0.1), ValueError, "beta must be non-negative"),
        (lambda: ps.Ising(nx.path_graph(3), beta=[0.1, 0.2]), ValueError, "beta must be a scalar"),
    ],
)  # fmt: skip
def test_bad_values_name_the_item(build, error, message):
    with pytest.raises(error, match=message):
        build()


def _with_edge_attribute(name, last_value):
    graph = nx.path_graph(3)
    nx.set_edge_attributes(graph, {(0, 1): 1.0, (1, 2): last_value}, name)
    return graph


def _with_node_attribute(name, last_value):
    graph = nx.path_graph(3)
    nx.set_node_attributes(graph, {0: 1.0, 1: 0.0, 2: last_value}, name)
    return graph
