"""Exact ground states: enumeration (physsamp.exact) against brute force, and the lattice
transfer matrix (physsamp.lattice_exact) against enumeration."""

import itertools

import networkx as nx
import numpy as np
import pytest
from models_fixtures import random_boltzmann, random_ising, random_rbm

import physsamp as ps
from physsamp import exact, lattice_exact


def edge_energies(model, x):
    """Energies of configurations ``x [M, N]`` from the edge list in float64 (model.energy
    compiles once per model, which would dominate the run time of these tests)."""
    values = np.asarray(x, dtype=np.float64)
    edges = np.asarray(model.edges)
    couplings = np.asarray(model.edge_couplings, dtype=np.float64)
    pairs = values[:, edges[:, 0]] * values[:, edges[:, 1]]
    return -(pairs @ couplings) - values @ np.asarray(model.field, dtype=np.float64)


def brute_force(model):
    """(lowest energy, number within 1e-6 (1 + |E|)) over every state."""
    energies = edge_energies(model, exact.states(model))
    lowest = energies.min()
    return lowest, int(np.count_nonzero(energies <= lowest + 1e-6 * (1 + abs(lowest))))


def assert_consistent(model, result):
    """The configuration is valid and has the reported energy."""
    model.check_values(result.configuration)
    assert result.configuration.dtype == np.int8
    assert edge_energies(model, result.configuration[None])[0] == pytest.approx(result.energy)


@pytest.mark.parametrize(
    "model",
    [random_ising(12, 1.0, seed=0), random_ising(17, 1.0, seed=4), random_boltzmann(11, 1.0, 1)],
    ids=["ising-12", "ising-17-two-chunks", "boltzmann-11"],
)
def test_enumeration_matches_brute_force(model):
    result = exact.ground_state(model)
    lowest, count = brute_force(model)
    assert result.energy == pytest.approx(lowest, abs=1e-5)
    assert result.degeneracy == count
    assert_consistent(model, result)


def test_enumeration_ferromagnet_and_frustration():
    ferromagnet = exact.ground_state(ps.Ising(nx.complete_graph(6), coupling=0.5))
    assert ferromagnet.energy == -7.5  # 15 bonds of 0.5
    assert ferromagnet.degeneracy == 2
    assert abs(int(ferromagnet.configuration.sum())) == 6
    triangle = exact.ground_state(ps.Ising(nx.cycle_graph(3), coupling=-1.0))
    assert (triangle.energy, triangle.degeneracy) == (-1.0, 6)
    free = exact.ground_state(ps.BoltzmannMachine(nx.empty_graph(4), bias=0.0))
    assert (free.energy, free.degeneracy) == (0.0, 16)
    assert str(ferromagnet) == "ground state: energy -7.5, degeneracy 2, 6 units"


def test_rbm_minimises_the_joint_energy():
    for rbm in (random_rbm(6, 3, 1.0, seed=2), random_rbm(3, 7, 1.0, seed=5)):
        weights = np.asarray(rbm.weights, dtype=np.float64)
        visible_bias = np.asarray(rbm.visible_bias, dtype=np.float64)
        hidden_bias = np.asarray(rbm.hidden_bias, dtype=np.float64)
        visible = np.array(list(itertools.product([0, 1], repeat=rbm.num_visible)))
        hidden = np.array(list(itertools.product([0, 1], repeat=rbm.num_hidden)))
        energies = -(visible @ weights @ hidden.T) - (visible @ visible_bias)[:, None]
        energies -= hidden @ hidden_bias  # [every v, every h]
        result = exact.ground_state(rbm)
        assert result.energy == pytest.approx(energies.min())
        assert result.degeneracy == 1
    visible, hidden = np.split(result.configuration, [rbm.num_visible])
    assert float(rbm.joint_energy(visible, hidden)) == pytest.approx(result.energy, abs=1e-5)
    blank = exact.ground_state(ps.RBM(np.zeros((3, 2))))
    assert (blank.energy, blank.degeneracy) == (0.0, 32)


def test_enumeration_refuses_large_models():
    with pytest.raises(ValueError, match="at most 24"):
        exact.ground_state(ps.Ising.lattice((5, 5)))
    with pytest.raises(ValueError, match="smaller layer"):
        exact.ground_state(ps.RBM(np.zeros((25, 26))))


def random_lattice(shape, kind, periodic, with_field, seed, wrap=(True, True)):
    """An Ising lattice with ±J or Gaussian bonds; ``wrap`` zeroes the periodic bonds of a
    direction (rows, then columns) to make it open there."""
    rng = np.random.default_rng(seed)
    if kind == "pm":
        couplings = rng.choice([-1.0, 1.0], size=(2, *shape))
        field = rng.choice([-1.0, 0.0, 1.0], size=shape) if with_field else 0.0
    else:
        couplings = rng.normal(size=(2, *shape))
        field = 0.5 * rng.normal(size=shape) if with_field else 0.0
    if not wrap[0]:
        couplings[0, -1] = 0.0  # bonds from the last row to the first
    if not wrap[1]:
        couplings[1, :, -1] = 0.0  # bonds from the last column to the first
    return ps.Ising.lattice(shape, coupling=couplings, field=field, periodic=periodic)


CASES = [
    ((4, 5), "pm", False, False),
    ((4, 5), "gauss", False, True),
    ((5, 4), "pm", True, True),
    ((4, 5), "gauss", True, False),
    ((3, 6), "pm", True, False),
    ((4, 6), "pm", True, True),
    ((2, 9), "gauss", False, True),
    ((1, 12), "pm", False, True),
]


@pytest.mark.parametrize(("shape", "kind", "periodic", "with_field"), CASES)
def test_lattice_matches_enumeration(shape, kind, periodic, with_field):
    model = random_lattice(shape, kind, periodic, with_field, seed=sum(shape) + periodic)
    result = lattice_exact.ground_state(model)
    expected = exact.ground_state(model)
    assert result.energy == pytest.approx(expected.energy, abs=1e-9)
    assert result.degeneracy == expected.degeneracy
    assert_consistent(model, result)


@pytest.mark.parametrize("wrap", [(True, False), (False, True)])
def test_lattice_periodic_in_one_direction(wrap):
    model = random_lattice((3, 6), "gauss", True, True, seed=7, wrap=wrap)
    result = lattice_exact.ground_state(model)
    assert result.energy == pytest.approx(exact.ground_state(model).energy, abs=1e-9)
    assert_consistent(model, result)


def test_lattice_boltzmann_machine_from_a_grid_graph():
    rng = np.random.default_rng(3)
    graph = nx.grid_2d_graph(4, 5, periodic=True)
    model = ps.BoltzmannMachine(
        graph, weight=rng.normal(size=graph.number_of_edges()), bias=rng.normal(size=20)
    )
    result = lattice_exact.ground_state(model)
    expected = exact.ground_state(model)
    assert result.energy == pytest.approx(expected.energy, abs=1e-9)
    assert result.degeneracy == expected.degeneracy
    assert_consistent(model, result)


def test_lattice_16x16_spin_glass():
    signs = np.random.default_rng(16).choice([-1.0, 1.0], size=(2, 16, 16))
    model = ps.Ising.lattice((16, 16), coupling=signs, periodic=False)
    result = lattice_exact.ground_state(model)
    assert float(model.energy(result.configuration)) == result.energy
    assert result.degeneracy is not None and result.degeneracy >= 2  # at least the global flip
    # the same glass with rows and columns exchanged has the same ground state energy
    swapped = ps.Ising.lattice((16, 16), coupling=signs[::-1].transpose(0, 2, 1), periodic=False)
    swapped_result = lattice_exact.ground_state(swapped)
    assert swapped_result.energy == result.energy
    assert swapped_result.degeneracy == result.degeneracy
    # no single flip lowers the energy
    flips = np.where(np.eye(256, dtype=bool), -result.configuration, result.configuration)
    assert np.all(edge_energies(model, flips) >= result.energy)


@pytest.mark.parametrize(
    ("shape", "periodic", "bonds"), [((10, 10), False, 180), ((10, 8), True, 160)]
)
def test_lattice_ferromagnet(shape, periodic, bonds):
    result = lattice_exact.ground_state(ps.Ising.lattice(shape, periodic=periodic))
    assert (result.energy, result.degeneracy) == (-bonds, 2)
    assert abs(int(result.configuration.sum())) == shape[0] * shape[1]


def test_lattice_bad_inputs():
    with pytest.raises(ValueError, match="2D lattice"):
        lattice_exact.ground_state(ps.Ising(nx.cycle_graph(5)))
    with pytest.raises(ValueError, match="2D lattice"):
        lattice_exact.ground_state(ps.Ising.lattice((3, 3, 3)))
    with pytest.raises(ValueError, match="pairwise model on a 2D lattice"):
        lattice_exact.ground_state(random_rbm(4, 3, 1.0, seed=0))
    with pytest.raises(ValueError, match="too wide"):
        lattice_exact.ground_state(ps.Ising.lattice((21, 22), periodic=False))
    with pytest.raises(ValueError, match="periodic in both directions"):
        lattice_exact.ground_state(ps.Ising.lattice((12, 12), periodic=True))
    diagonal = nx.grid_2d_graph(3, 3)
    diagonal.add_edge((0, 0), (1, 1))
    with pytest.raises(ValueError, match="does not join neighbours"):
        lattice_exact.ground_state(ps.Ising(diagonal))
