"""Small random models for exact tests."""

from __future__ import annotations

import networkx as nx
import numpy as np

import physsamp as ps


def random_graph(num_sites: int, seed: int) -> nx.Graph:
    """A connected random graph with cycles (not bipartite in general)."""
    graph = nx.gnm_random_graph(num_sites, 2 * num_sites, seed=seed)
    while not nx.is_connected(graph):
        seed += 1000
        graph = nx.gnm_random_graph(num_sites, 2 * num_sites, seed=seed)
    return graph


def random_ising(num_sites: int, beta: float, seed: int) -> ps.Ising:
    rng = np.random.default_rng(seed)
    graph = random_graph(num_sites, seed)
    coupling = rng.normal(0.0, 1.0, graph.number_of_edges())
    field = rng.normal(0.0, 0.5, num_sites)
    return ps.Ising(graph, coupling=coupling, field=field, beta=beta)


def random_boltzmann(num_sites: int, beta: float, seed: int) -> ps.BoltzmannMachine:
    rng = np.random.default_rng(seed)
    graph = random_graph(num_sites, seed)
    weight = rng.normal(0.0, 1.5, graph.number_of_edges())
    bias = rng.normal(0.0, 1.0, num_sites)
    return ps.BoltzmannMachine(graph, weight=weight, bias=bias, beta=beta)


def random_rbm(num_visible: int, num_hidden: int, beta: float, seed: int) -> ps.RBM:
    rng = np.random.default_rng(seed)
    return ps.RBM(
        rng.normal(0.0, 1.0, (num_visible, num_hidden)),
        visible_bias=rng.normal(0.0, 0.5, num_visible),
        hidden_bias=rng.normal(0.0, 0.5, num_hidden),
        beta=beta,
    )
