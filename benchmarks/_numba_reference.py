"""Plain numba reference samplers for the benchmarks (not part of physsamp).

These are the straightforward CPU implementations a practitioner would write by hand; the
benchmarks compare physsamp's JAX kernels against them. numba is not a runtime dependency of
physsamp: it comes with the optional ``bench`` dependency group (``uv sync --group bench``).

* :func:`checkerboard_heat_bath` - heat-bath (Gibbs) sweeps of the 2D periodic
  nearest-neighbour Ising model, J = 1, zero field, updating the two checkerboard sublattices
  in turn; rows are processed in parallel with ``numba.prange``. Random numbers come from a
  counter-based generator (SplitMix64 of a per-site counter), so results do not depend on the
  number of threads or on how rows are scheduled.
* :func:`swendsen_wang_union_find` - single-threaded Swendsen-Wang cluster sweeps
  (R. H. Swendsen and J.-S. Wang, Phys. Rev. Lett. 58, 86 (1987)) on an arbitrary graph with
  arbitrary couplings and fields, clusters found by union-find with path halving and union by
  size (R. E. Tarjan, J. ACM 22, 215 (1975)).

Convention for both: :math:`p(s) \\propto \\exp(-\\beta E(s))`,
:math:`E(s) = -\\sum_{(i,j)} J_{ij} s_i s_j - \\sum_i h_i s_i`, spins ``int8`` in ``{-1, +1}``.

Run ``uv run python benchmarks/_numba_reference.py`` for throughput numbers (compile time
excluded); ``benchmarks/check_numba_reference.py`` checks both samplers against exact results.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

__all__ = [
    "checkerboard_heat_bath",
    "periodic_square_lattice_edges",
    "swendsen_wang_union_find",
]

# SplitMix64 constants (G. L. Steele, D. Lea, C. H. Flood, "Fast splittable pseudorandom number
# generators", OOPSLA 2014). All operands are uint64: numba turns uint64 op int64 into float64.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30 = np.uint64(30)
_SHIFT_27 = np.uint64(27)
_SHIFT_31 = np.uint64(31)
_SHIFT_11 = np.uint64(11)
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@numba.njit(inline="always")
def _splitmix64(value):
    z = value + _GOLDEN_GAMMA
    z = (z ^ (z >> _SHIFT_30)) * _MIX_1
    z = (z ^ (z >> _SHIFT_27)) * _MIX_2
    return z ^ (z >> _SHIFT_31)


@numba.njit(inline="always")
def _uniform(key, counter):
    """Uniform double in [0, 1) determined by (key, counter): stream `key`, draw `counter`."""
    return float(_splitmix64(key + np.uint64(counter) * _GOLDEN_GAMMA) >> _SHIFT_11) * (
        _TWO_TO_MINUS_53
    )


@numba.njit(parallel=True)
def _checkerboard_sweeps(spins, prob_up, num_sweeps, key):
    num_rows, num_cols = spins.shape
    num_sites = num_rows * num_cols
    for sweep in range(num_sweeps):
        for colour in range(2):
            # every (sweep, colour, site) gets its own counter, hence its own random number
            counter_base = (2 * sweep + colour) * num_sites
            for row in numba.prange(num_rows):
                up = row - 1 if row > 0 else num_rows - 1
                down = row + 1 if row < num_rows - 1 else 0
                for col in range((row + colour) % 2, num_cols, 2):
                    left = col - 1 if col > 0 else num_cols - 1
                    right = col + 1 if col < num_cols - 1 else 0
                    local_field = (
                        spins[up, col] + spins[down, col] + spins[row, left] + spins[row, right]
                    )
                    draw = _uniform(key, counter_base + row * num_cols + col)
                    spins[row, col] = 1 if draw < prob_up[(local_field + 4) // 2] else -1
    return spins


def _check_sweeps_seed(beta: float, num_sweeps: int, seed: int) -> None:
    if not (math.isfinite(beta) and beta >= 0.0):
        raise ValueError(f"beta must be finite and >= 0, got {beta}")
    if int(num_sweeps) != num_sweeps or num_sweeps < 0:
        raise ValueError(f"num_sweeps must be a non-negative integer, got {num_sweeps}")
    if int(seed) != seed or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed}")


def _check_spins(spins: np.ndarray, ndim: int) -> None:
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8 or spins.ndim != ndim:
        raise TypeError(f"spins must be a {ndim}-d numpy array of int8")
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ValueError("spins must be C-contiguous and writeable (it is updated in place)")
    if not np.all(np.abs(spins) == 1):
        raise ValueError("spins must contain only -1 and +1")


def checkerboard_heat_bath(
    spins: np.ndarray, beta: float, num_sweeps: int, seed: int
) -> np.ndarray:
    """Heat-bath sweeps of the 2D periodic Ising model (J = 1, h = 0), checkerboard order.

    Each sweep redraws every site of one sublattice ((row + col) even) and then of the
    other, each spin from its exact conditional
    :math:`P(s_i = +1 \\mid \\text{rest}) = 1 / (1 + e^{-2 \\beta \\sum_{j \\sim i} s_j})`
    (the heat-bath / Gibbs update, e.g. Newman & Barkema, *Monte Carlo Methods in
    Statistical Physics*, 1999, sec. 4.5). Sites of one sublattice do not interact, so their
    rows are updated in parallel.

    Args:
        spins: ``int8[L1, L2]`` of +-1 with both sides even (an odd periodic side would join
            two sites of the same sublattice); updated in place.
        beta: inverse temperature >= 0.
        num_sweeps: number of full sweeps (both sublattices).
        seed: integer in ``[0, 2**32)``. The same (spins, beta, num_sweeps, seed) gives the
            same result on any number of threads. Use a new seed for every call that
            continues a chain: counters restart at sweep 0 on each call.

    Returns:
        ``spins`` (the same array).
    """
    _check_spins(spins, 2)
    if spins.shape[0] % 2 or spins.shape[1] % 2:
        raise ValueError(f"both lattice sides must be even for a checkerboard, got {spins.shape}")
    _check_sweeps_seed(beta, num_sweeps, seed)
    # prob_up[(h + 4) // 2] for the neighbour sum h in {-4, -2, 0, 2, 4}
    local_fields = np.arange(-4, 5, 2, dtype=np.float64)
    prob_up = 1.0 / (1.0 + np.exp(-2.0 * beta * local_fields))
    # np.uint64 explicitly: a Python int below 2**63 would be typed int64 by numba
    key = np.uint64(_splitmix64(np.uint64(seed)))
    return _checkerboard_sweeps(spins, prob_up, int(num_sweeps), key)


@numba.njit(inline="always")
def _find_root(parent, site):
    # path halving: every visited node is re-pointed to its grandparent
    while parent[site] != site:
        parent[site] = parent[parent[site]]
        site = parent[site]
    return site


@numba.njit
def _swendsen_wang_sweeps(spins, edges, couplings, fields, beta, num_sweeps, rng):
    num_sites = spins.shape[0]
    num_edges = edges.shape[0]
    bond_prob = np.empty(num_edges)
    for edge in range(num_edges):
        bond_prob[edge] = -math.expm1(-2.0 * beta * abs(couplings[edge]))
    parent = np.empty(num_sites, dtype=np.int64)
    cluster_size = np.empty(num_sites, dtype=np.int64)
    cluster_field = np.empty(num_sites)
    flip = np.empty(num_sites, dtype=np.bool_)

    for _ in range(num_sweeps):
        for site in range(num_sites):
            parent[site] = site
            cluster_size[site] = 1
        # bonds: only satisfied edges (J s_i s_j > 0) may be frozen
        for edge in range(num_edges):
            a = edges[edge, 0]
            b = edges[edge, 1]
            if couplings[edge] * spins[a] * spins[b] <= 0.0:
                continue
            if rng.random() >= bond_prob[edge]:
                continue
            root_a = _find_root(parent, a)
            root_b = _find_root(parent, b)
            if root_a == root_b:
                continue
            if cluster_size[root_a] < cluster_size[root_b]:
                root_a, root_b = root_b, root_a
            parent[root_b] = root_a
            cluster_size[root_a] += cluster_size[root_b]

        # Flipping a whole cluster keeps every frozen bond satisfied, so the cluster's two
        # orientations differ only in field energy: keep it with prob sigmoid(2 beta sum h s).
        # For ferromagnetic clusters this is "set to +1 with prob sigmoid(2 beta sum h)".
        for site in range(num_sites):
            cluster_field[site] = 0.0
        for site in range(num_sites):
            root = _find_root(parent, site)
            parent[site] = root
            cluster_field[root] += fields[site] * spins[site]
        for site in range(num_sites):
            if parent[site] == site:
                keep_prob = 1.0 / (1.0 + math.exp(-2.0 * beta * cluster_field[site]))
                flip[site] = rng.random() >= keep_prob
        for site in range(num_sites):
            if flip[parent[site]]:
                spins[site] = -spins[site]
    return spins


def swendsen_wang_union_find(
    spins: np.ndarray,
    edges: np.ndarray,
    couplings: np.ndarray,
    fields: np.ndarray,
    beta: float,
    num_sweeps: int,
    seed: int,
) -> np.ndarray:
    """Swendsen-Wang sweeps on an arbitrary graph, clusters by union-find (single thread).

    Each sweep (R. H. Swendsen and J.-S. Wang, Phys. Rev. Lett. 58, 86 (1987)) freezes every
    satisfied edge (:math:`J_e s_i s_j > 0`) with probability
    :math:`1 - e^{-2 \\beta |J_e|}`, finds the connected clusters of frozen edges with
    union-find (path halving, union by size), and then flips each cluster as a whole with the
    exact conditional probability given its field,
    :math:`P(\\text{keep}) = \\sigma(2 \\beta \\sum_{i \\in C} h_i s_i)`. With fields, this is
    the usual extension in which the field acts on clusters rather than through a ghost spin.
    For ferromagnetic couplings every cluster is uniform, and the rule reads "set the cluster
    to +1 with probability :math:`\\sigma(2 \\beta \\sum_{i \\in C} h_i)`".

    Args:
        spins: ``int8[N]`` of +-1, updated in place.
        edges: ``int32[E, 2]`` site pairs, each undirected edge once.
        couplings: ``float64[E]`` couplings :math:`J_e` (any sign).
        fields: ``float64[N]`` fields :math:`h_i`.
        beta: inverse temperature >= 0.
        num_sweeps: number of sweeps.
        seed: integer in ``[0, 2**32)``, seeding a fresh ``numpy.random.default_rng`` (PCG64)
            on every call.

    Returns:
        ``spins`` (the same array).
    """
    _check_spins(spins, 1)
    num_sites = spins.shape[0]
    edges = np.ascontiguousarray(edges, dtype=np.int32)
    couplings = np.ascontiguousarray(couplings, dtype=np.float64)
    fields = np.ascontiguousarray(fields, dtype=np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"edges must have shape (E, 2), got {edges.shape}")
    if couplings.shape != (edges.shape[0],) or fields.shape != (num_sites,):
        raise ValueError("couplings must have shape (E,) and fields shape (N,)")
    if edges.size and (edges.min() < 0 or edges.max() >= num_sites):
        raise ValueError("edges refer to sites outside 0 .. N-1")
    if edges.size and np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("edges must not be self-loops")
    if not (np.all(np.isfinite(couplings)) and np.all(np.isfinite(fields))):
        raise ValueError("couplings and fields must be finite")
    _check_sweeps_seed(beta, num_sweeps, seed)
    return _swendsen_wang_sweeps(
        spins, edges, couplings, fields, float(beta), int(num_sweeps), np.random.default_rng(seed)
    )


def periodic_square_lattice_edges(num_rows: int, num_cols: int) -> np.ndarray:
    """``int32[2 N, 2]`` nearest-neighbour edges of a periodic lattice, site = row * cols + col.

    Each bond once: to the right neighbour and to the neighbour below (sides >= 3).
    """
    site = np.arange(num_rows * num_cols).reshape(num_rows, num_cols)
    right = np.roll(site, -1, axis=1)
    below = np.roll(site, -1, axis=0)
    pairs = [np.stack([site.ravel(), right.ravel()], 1), np.stack([site.ravel(), below.ravel()], 1)]
    return np.concatenate(pairs).astype(np.int32)


# --------------------------------------------------------------------------- timing


def _random_spins(shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)


def _best_time(run, repeats: int = 3) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    beta = 0.5 * math.log1p(math.sqrt(2.0))  # beta_c, where clusters span the lattice
    warm = _random_spins((8, 8), 0)
    start = time.perf_counter()
    checkerboard_heat_bath(warm, beta, 1, 0)
    compile_time = time.perf_counter() - start
    threads = f"{numba.get_num_threads()} threads, {numba.threading_layer()} layer"
    print(f"numba {numba.__version__} ({threads}); beta = beta_c = {beta:.6f}")
    print(f"checkerboard heat bath (compile {compile_time:.1f} s, excluded)")
    for side in (64, 256, 1024):
        spins = _random_spins((side, side), side)
        num_sweeps = max(5, int(2e8 / (side * side)))  # about 2e8 spin updates per timing
        checkerboard_heat_bath(spins, beta, 5, 1)  # warm caches and threads at this size
        elapsed = _best_time(lambda s=spins, n=num_sweeps: checkerboard_heat_bath(s, beta, n, 2))
        rate = side * side * num_sweeps / elapsed
        print(f"  L = {side:5d}: {rate / 1e6:8.1f} M spin updates/s ({num_sweeps} sweeps)")

    side = 256
    edges = periodic_square_lattice_edges(side, side)
    couplings = np.ones(len(edges))
    fields = np.zeros(side * side)
    start = time.perf_counter()
    tiny = periodic_square_lattice_edges(4, 4)
    swendsen_wang_union_find(_random_spins(16, 0), tiny, np.ones(32), np.zeros(16), beta, 1, 0)
    print(f"Swendsen-Wang union-find (compile {time.perf_counter() - start:.1f} s, excluded)")
    spins = _random_spins(side * side, 3)
    swendsen_wang_union_find(spins, edges, couplings, fields, beta, 20, 4)  # equilibrate a bit
    num_sweeps = 100
    elapsed = _best_time(
        lambda: swendsen_wang_union_find(spins, edges, couplings, fields, beta, num_sweeps, 5)
    )
    print(
        f"  L = {side:5d} at beta_c: {num_sweeps / elapsed:8.1f} sweeps/s "
        f"({side * side * num_sweeps / elapsed / 1e6:.1f} M spin updates/s)"
    )


if __name__ == "__main__":
    main()
