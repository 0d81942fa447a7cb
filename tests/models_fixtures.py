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


def digits_data() -> np.ndarray:
    """The 1,797 8 x 8 handwritten digits that ship with scikit-learn, binarised (grey level
    >= 8 of 16 is on): ``int8 [1797, 64]``."""
    from sklearn.datasets import load_digits

    return (load_digits().data >= 8).astype(np.int8)


def train_rbm(data: np.ndarray, num_hidden: int, seed: int, epochs: int = 100) -> ps.RBM:
    """An RBM trained on binary rows by contrastive divergence (CD-1, Hinton 2002) with plain
    numpy: small, sharply peaked, far from its base-rate model."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, 0.01, (data.shape[1], num_hidden))
    visible_bias, hidden_bias = np.zeros(data.shape[1]), np.zeros(num_hidden)
    rate, batch = 0.1, 20

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    for _ in range(epochs):
        for start in range(0, len(data), batch):
            v0 = data[start : start + batch].astype(np.float64)
            h0_up = sigmoid(v0 @ weights + hidden_bias)
            h0 = rng.random(h0_up.shape) < h0_up
            v1_up = sigmoid(h0 @ weights.T + visible_bias)
            v1 = (rng.random(v1_up.shape) < v1_up).astype(np.float64)
            h1_up = sigmoid(v1 @ weights + hidden_bias)
            weights += rate * (v0.T @ h0_up - v1.T @ h1_up) / len(v0)
            visible_bias += rate * (v0 - v1).mean(axis=0)
            hidden_bias += rate * (h0_up - h1_up).mean(axis=0)
    return ps.RBM(weights, visible_bias, hidden_bias)
