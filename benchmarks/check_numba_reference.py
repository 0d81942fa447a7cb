"""Statistical check of the numba reference samplers against exact results.

numba is optional (``uv sync --group bench``), so this lives here rather than in tests/:

    uv run python benchmarks/check_numba_reference.py

* the checkerboard sampler gives the same chain on 1 and on all threads;
* both samplers on a 16 x 16 periodic lattice: mean energy per site against Kaufman's exact
  finite-lattice value (:func:`physsamp.lattice_exact.ising2d_energy_per_site`);
* Swendsen-Wang on a frustrated 4 x 4 torus with random couplings of both signs and random
  fields: mean energy and magnetisation against enumeration of all 2^16 states.

Errors are batch-means standard errors; the script exits non-zero if any estimate is more than
``Z_LIMIT`` standard errors from the exact value. Takes 10-20 s on two cores plus
compilation, mostly per-call overhead (one call per recorded sample).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _numba_reference import (  # benchmarks/ is not a package: found via sys.path
    checkerboard_heat_bath,
    periodic_square_lattice_edges,
    swendsen_wang_union_find,
)

from physsamp.lattice_exact import ising2d_energy_per_site

Z_LIMIT = 4.5
NUM_BATCHES = 50


def batch_mean_and_error(samples: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error from NUM_BATCHES contiguous batches (robust to correlation)."""
    usable = len(samples) // NUM_BATCHES * NUM_BATCHES
    batch_means = samples[:usable].reshape(NUM_BATCHES, -1).mean(axis=1)
    return float(batch_means.mean()), float(batch_means.std(ddof=1) / math.sqrt(NUM_BATCHES))


def lattice_energy_per_site(spins: np.ndarray) -> float:
    bonds = spins * np.roll(spins, 1, axis=0) + spins * np.roll(spins, 1, axis=1)
    return -float(bonds.sum(dtype=np.int64)) / spins.size


def report(label: str, samples: np.ndarray, exact: float) -> bool:
    mean, error = batch_mean_and_error(samples)
    z_score = (mean - exact) / error
    ok = abs(z_score) < Z_LIMIT
    status = "ok" if ok else "FAIL"
    estimate = f"{mean:+.5f} +- {error:.5f}"
    print(f"  {label:44s} {estimate}  exact {exact:+.5f}  z = {z_score:+.2f}  {status}")
    return ok


def check_checkerboard(side: int, beta: float, num_samples: int) -> bool:
    spins = np.ones((side, side), dtype=np.int8)
    checkerboard_heat_bath(spins, beta, 200, 0)  # burn-in
    energies = np.empty(num_samples)
    for sample in range(num_samples):
        # a new seed per call: the counter-based stream restarts at sweep 0 on every call
        checkerboard_heat_bath(spins, beta, 1, sample + 1)
        energies[sample] = lattice_energy_per_site(spins)
    exact = ising2d_energy_per_site(side, side, beta)
    return report(f"checkerboard {side}x{side}, beta={beta:.4f}: E/N", energies, exact)


def check_checkerboard_thread_independence() -> bool:
    """The counter-based random numbers make the chain independent of the thread count."""
    start = np.where(np.random.default_rng(0).random((32, 48)) < 0.5, -1, 1).astype(np.int8)
    threads = numba.get_num_threads()
    results = []
    for num_threads in sorted({1, threads}):
        numba.set_num_threads(num_threads)
        results.append(checkerboard_heat_bath(start.copy(), 0.44, 20, 3))
    numba.set_num_threads(threads)
    ok = all(np.array_equal(results[0], other) for other in results)
    print(f"  checkerboard identical on 1 and {threads} threads: {'ok' if ok else 'FAIL'}")
    return ok


def check_swendsen_wang_lattice(side: int, beta: float, num_samples: int) -> bool:
    edges = periodic_square_lattice_edges(side, side)
    couplings = np.ones(len(edges))
    fields = np.zeros(side * side)
    spins = np.ones(side * side, dtype=np.int8)
    swendsen_wang_union_find(spins, edges, couplings, fields, beta, 50, 0)
    energies = np.empty(num_samples)
    for sample in range(num_samples):
        swendsen_wang_union_find(spins, edges, couplings, fields, beta, 1, sample + 1)
        energies[sample] = lattice_energy_per_site(spins.reshape(side, side))
    exact = ising2d_energy_per_site(side, side, beta)
    return report(f"Swendsen-Wang {side}x{side}, beta={beta:.4f}: E/N", energies, exact)


def check_swendsen_wang_frustrated(beta: float, num_samples: int) -> bool:
    """Random +-couplings and fields on a 4 x 4 torus, against all 2^16 states."""
    rng = np.random.default_rng(7)
    edges = periodic_square_lattice_edges(4, 4)
    couplings = rng.normal(size=len(edges))
    fields = rng.normal(scale=0.5, size=16)

    def energy(spins: np.ndarray) -> np.ndarray:
        # spins: (..., N) of +-1 -> E = -sum_e J_e s_i s_j - sum_i h_i s_i
        pair = spins[..., edges[:, 0]] * spins[..., edges[:, 1]]
        return -(pair @ couplings) - spins @ fields

    states = 1 - 2 * ((np.arange(2**16)[:, None] >> np.arange(16)) & 1).astype(np.float64)
    log_weights = -beta * energy(states)
    prob = np.exp(log_weights - log_weights.max())
    prob /= prob.sum()
    exact_energy = float(prob @ energy(states))
    exact_magnetisation = float(prob @ states.mean(axis=1))

    spins = np.ones(16, dtype=np.int8)
    swendsen_wang_union_find(spins, edges, couplings, fields, beta, 100, 0)
    energies = np.empty(num_samples)
    magnetisations = np.empty(num_samples)
    for sample in range(num_samples):
        swendsen_wang_union_find(spins, edges, couplings, fields, beta, 1, sample + 1)
        energies[sample] = energy(spins.astype(np.float64))
        magnetisations[sample] = spins.mean()
    ok = report(f"Swendsen-Wang frustrated 4x4, beta={beta}: E", energies, exact_energy)
    label = f"Swendsen-Wang frustrated 4x4, beta={beta}: M"
    return report(label, magnetisations, exact_magnetisation) and ok


def main() -> int:
    print(f"numba reference samplers vs exact results (fail if |z| >= {Z_LIMIT})")
    results = [
        check_checkerboard_thread_independence(),
        check_checkerboard(16, 0.3, 10_000),
        check_checkerboard(16, 0.5, 10_000),
        check_swendsen_wang_lattice(16, 0.3, 10_000),
        check_swendsen_wang_lattice(16, 0.5 * math.log1p(math.sqrt(2.0)), 10_000),
        check_swendsen_wang_frustrated(0.7, 20_000),
    ]
    print("all ok" if all(results) else "SOME CHECKS FAILED")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
