"""Plain numpy annealed importance sampling: the reference that benchmarks/ais.py times against.

Written the way a careful numpy user would: vectorised over runs, float32 arrays, one uniform
per site from numpy's PCG64, log-weights accumulated in float64. The algorithms are those of
physsamp.kernels.ais (Neal 2001 Stat. Comput. 11:125; Salakhutdinov & Murray 2008 ICML): at
each step, the increment log f_{t_to}(x) - log f_{t_from}(x) at the current state, then a
transition that leaves f_{t_to} invariant.
"""

from __future__ import annotations

import itertools

import numpy as np


def ising_lattice_ais(
    side: int, beta: float, schedule: np.ndarray, num_runs: int, seed: int, coupling: float = 1.0
) -> np.ndarray:
    """AIS from uniform spins to the zero-field periodic ``side x side`` Ising model at
    ``beta``, with checkerboard heat-bath sweeps; returns the log-weights (float64 [runs]).

    Path: f_t(s) = exp(-t beta E(s)), E(s) = -J sum_<ij> s_i s_j, log Z_0 = side^2 log 2."""
    rng = np.random.default_rng(seed)
    shape = (num_runs, side, side)
    spins = np.where(rng.random(shape, dtype=np.float32) < 0.5, -1.0, 1.0).astype(np.float32)
    parity = (np.indices((side, side)).sum(axis=0) % 2).astype(bool)
    colours = (~parity, parity)
    log_weights = np.zeros(num_runs, dtype=np.float64)
    plus, minus = np.float32(1.0), np.float32(-1.0)
    for t_from, t_to in itertools.pairwise(schedule):
        bonds = (spins * np.roll(spins, -1, axis=1)).sum(axis=(1, 2), dtype=np.float64)
        bonds += (spins * np.roll(spins, -1, axis=2)).sum(axis=(1, 2), dtype=np.float64)
        log_weights += (t_to - t_from) * beta * coupling * bonds
        scale = np.float32(-2.0 * t_to * beta * coupling)
        for colour in colours:
            field = np.roll(spins, 1, axis=1)
            field += np.roll(spins, -1, axis=1)
            field += np.roll(spins, 1, axis=2)
            field += np.roll(spins, -1, axis=2)
            # p(s = +1) = 1 / (1 + exp(-2 t beta J field))
            np.multiply(field, scale, out=field)
            np.exp(field, out=field)
            field += plus
            new = np.where(rng.random(shape, dtype=np.float32) * field < plus, plus, minus)
            spins = np.where(colour, new, spins)
    return log_weights


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.float32(0.0), x)


def rbm_ais(
    weights: np.ndarray,
    visible_bias: np.ndarray,
    hidden_bias: np.ndarray,
    base_visible_bias: np.ndarray,
    schedule: np.ndarray,
    num_runs: int,
    seed: int,
    beta: float = 1.0,
) -> np.ndarray:
    """AIS from the base-rate model (visible logits ``base_visible_bias``) to the RBM, hidden
    units summed out: log f_t(v) = (1-t) a_A.v + t beta a.v + sum_j softplus(t beta (b + vW)_j);
    layer-wise Gibbs transitions. Returns the log-weights (float64 [runs]);
    log Z_0 = n_h log 2 + sum_i softplus(a_A_i)."""
    rng = np.random.default_rng(seed)
    w = np.asarray(weights, dtype=np.float32)
    a = np.asarray(visible_bias, dtype=np.float32)
    b = np.asarray(hidden_bias, dtype=np.float32)
    base = np.asarray(base_visible_bias, dtype=np.float32)
    num_visible, _num_hidden = w.shape
    up = 1.0 / (1.0 + np.exp(-base))
    v = (rng.random((num_runs, num_visible), dtype=np.float32) < up).astype(np.float32)
    hidden_input = np.float32(beta) * (v @ w + b)
    visible_gain = np.float32(beta) * a - base
    log_weights = np.zeros(num_runs, dtype=np.float64)
    for t_from, t_to in itertools.pairwise(schedule):
        t = np.float32(t_to)
        increment = np.float32(t_to - t_from) * (v @ visible_gain)
        increment += (
            _softplus(t * hidden_input) - _softplus(np.float32(t_from) * hidden_input)
        ).sum(axis=1)
        log_weights += increment
        h_up = 1.0 / (1.0 + np.exp(-t * hidden_input))
        h = (rng.random(h_up.shape, dtype=np.float32) < h_up).astype(np.float32)
        visible_input = (1 - t) * base + t * np.float32(beta) * (a + h @ w.T)
        v_up = 1.0 / (1.0 + np.exp(-visible_input))
        v = (rng.random(v_up.shape, dtype=np.float32) < v_up).astype(np.float32)
        hidden_input = np.float32(beta) * (v @ w + b)
    return log_weights
