import itertools

import networkx as nx
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_ising, random_rbm

import physsamp as ps
from physsamp import exact


def test_states_order_and_index():
    model = ps.Ising(nx.path_graph(3))
    states = exact.states(model)
    np.testing.assert_array_equal(states, list(itertools.product([-1, 1], repeat=3)))
    np.testing.assert_array_equal(exact.state_index(model, states), np.arange(8))


def test_log_partition_small_cases():
    model = ps.Ising(nx.path_graph(2), coupling=1.0, beta=0.5)
    assert exact.log_partition(model) == pytest.approx(np.log(2 * np.e**0.5 + 2 * np.e**-0.5))
    free = ps.Ising(nx.empty_graph(5), field=0.3, beta=2.0)
    assert exact.log_partition(free) == pytest.approx(5 * np.log(2 * np.cosh(0.6)))


def test_chunked_enumeration_matches_direct_sum():
    model = random_ising(17, 0.8, seed=0)  # 2^17 states: two chunks
    states = exact.states(model)
    log_weights = np.asarray(model.log_prob(states), dtype=np.float64)
    direct = np.log(np.exp(log_weights - log_weights.max()).sum()) + log_weights.max()
    assert exact.log_partition(model) == pytest.approx(direct, abs=1e-4)
    probabilities = exact.probabilities(model)
    assert probabilities.sum() == pytest.approx(1.0)


def test_expectation_and_marginals():
    model = random_boltzmann(8, 1.0, seed=1)
    probabilities = exact.probabilities(model)
    states = exact.states(model)
    np.testing.assert_allclose(exact.marginals(model), probabilities @ states, rtol=1e-10)
    energy = np.asarray(model.energy(states), dtype=np.float64)
    assert exact.mean_energy(model) == pytest.approx(probabilities @ energy, rel=1e-5)


def test_rbm_enumerates_smaller_layer():
    rbm = random_rbm(6, 3, 1.0, seed=2)
    assert exact.log_partition(rbm) == pytest.approx(exact.log_partition(rbm.transposed()))
    big = random_rbm(30, 4, 1.0, seed=3)  # 2^30 visible states, but only 2^4 hidden
    small = random_rbm(4, 30, 1.0, seed=3)
    assert np.isfinite(exact.log_partition(big)) and np.isfinite(exact.log_partition(small))
    joint = 0.0
    for v in itertools.product([0, 1], repeat=6):
        for h in itertools.product([0, 1], repeat=3):
            joint += np.exp(-float(rbm.joint_energy(np.array(v), np.array(h))))
    assert exact.log_partition(rbm) == pytest.approx(np.log(joint), rel=1e-5)


def test_too_large_is_refused():
    with pytest.raises(ValueError, match="at most 24"):
        exact.log_partition(ps.Ising.lattice((5, 5)))
