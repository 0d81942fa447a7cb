"""Swendsen–Wang throughput and effective samples per second, side by side in one run.

1. Time per sweep (compile time excluded, reported apart) of physsamp's Swendsen–Wang kernel
   against the plain numba union-find SW of ``benchmarks/_numba_reference.py`` (single thread),
   from the same equilibrated configuration: 2D periodic Ising lattices at beta_c (the
   ``jnp.roll`` lattice path, and the generic edge-list path at one size) and a random
   3-regular graph with 10^5 nodes at its Bethe critical point, tanh(beta_c) = 1/2.
2. Effective samples per second of |m| and of the energy at beta_c for L = 32, 64, 128:
   physsamp SW against physsamp block Gibbs (checkerboard), 4 vectorised chains each. ESS is
   ArviZ's bulk ESS over the chains; wall time covers sampling and the observables, not the
   compilation. Block Gibbs chains hold 60 autocorrelation times (literature tau_int) at
   L = 32, 64 and 20 at L = 128; short chains overestimate the ESS, so a Gibbs ESS is if
   anything too favourable to Gibbs.

numba comes from the optional ``bench`` dependency group:

    uv sync --group bench
    uv run python benchmarks/swendsen_wang.py            # about 4 minutes on 2 cores
    uv run python benchmarks/swendsen_wang.py --quick    # about 1 minute, shorter chains
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import physsamp as ps
from physsamp.kernels import block_gibbs, swendsen_wang
from physsamp.lattice_exact import BETA_CRITICAL

BETA_BETHE_3 = math.atanh(0.5)  # critical point of the ferromagnet on a random 3-regular graph


# -- 1. time per sweep ----------------------------------------------------------------------
def compiled(fn, *args):
    start = time.perf_counter()
    executable = jax.jit(fn).lower(*args).compile()
    return executable, time.perf_counter() - start


def best_of(run, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run())
        best = min(best, time.perf_counter() - start)
    return best


def sweep_times(model, label: str, num_sweeps: int, repeats: int, numba_sw) -> dict:
    """Seconds per sweep of physsamp SW and numba SW on ``model``, and SW compile time."""
    step = swendsen_wang.build_kernel(num_sweeps=num_sweeps)
    state = swendsen_wang.init(model.uniform_configuration(jax.random.key(0)), model)
    run, compile_time = compiled(step, jax.random.key(1), state, model)
    for warm in range(3):  # equilibrate: critical clusters are the ones worth timing
        state, info = run(jax.random.key(2 + warm), state, model)
    keys = iter(jax.random.split(jax.random.key(9), 10 * repeats))
    rounds = []

    def physsamp_run():
        nonlocal state
        state, info = run(next(keys), state, model)
        rounds.append(info.labelling_iterations)
        return state

    physsamp_time = best_of(physsamp_run, repeats) / num_sweeps
    row = {"label": label, "sites": model.num_sites, "physsamp": physsamp_time,
           "compile": compile_time, "rounds": float(np.mean(rounds)),
           "clusters": int(info.num_clusters)}  # fmt: skip
    if numba_sw is not None:
        spins = np.array(state.position, dtype=np.int8)
        edges = np.asarray(model.edges, dtype=np.int32)
        couplings = np.asarray(model.edge_couplings, dtype=np.float64)
        fields = np.asarray(model.field, dtype=np.float64)
        beta = float(model.beta)
        numba_sw(spins, edges, couplings, fields, beta, 1, 0)  # compile
        seeds = iter(range(1, 10 * repeats))
        row["numba"] = best_of(
            lambda: numba_sw(spins, edges, couplings, fields, beta, num_sweeps, next(seeds)),
            repeats,
        ) / num_sweeps  # fmt: skip
    return row


def generic_copy(model):
    """The same model without its lattice structure, so that SW takes the edge-list path."""
    import copy

    other = copy.copy(model)
    other.lattice_shape = other.bond_couplings = other.uniform_coupling = None
    return other


def print_sweep_table(rows: list[dict]) -> None:
    print("\n1. Swendsen-Wang time per sweep (best of repeats; compile excluded)")
    print(f"{'graph':<30} {'sites':>8} {'physsamp ms':>12} {'numba ms':>9} {'ratio':>6} "
          f"{'rounds':>7} {'clusters':>9} {'compile s':>10}")  # fmt: skip
    for row in rows:
        numba_time = row.get("numba")
        numba_text = f"{numba_time * 1e3:9.2f}" if numba_time else f"{'-':>9}"
        ratio = f"{row['physsamp'] / numba_time:6.2f}" if numba_time else f"{'-':>6}"
        print(
            f"{row['label']:<30} {row['sites']:>8} {row['physsamp'] * 1e3:12.2f} {numba_text} "
            f"{ratio} {row['rounds']:7.1f} {row['clusters']:>9} {row['compile']:10.2f}"
        )
    print("ratio = physsamp / numba time per sweep (lower is better for physsamp)")


# -- 2. effective samples per second -----------------------------------------------------------
def observe(step, init_fn, model, num_chains: int, num_draws: int):
    """A jitted function running ``num_chains`` chains for ``num_draws`` steps of ``step``
    and returning ``(energy per site, |m|)``, each ``[chains, draws]``."""

    def one_chain(key, start):
        def advance(carry, _):
            state, key = carry
            key, key_step = jax.random.split(key)
            state, _ = step(key_step, state, model)
            spins = state.position.astype(jnp.float32)
            energy = model.energy(spins) / model.num_sites
            return (state, key), (energy, jnp.abs(spins.mean()))

        _, (energy, magnetization) = jax.lax.scan(
            advance, (init_fn(start, model), key), length=num_draws
        )
        return energy, magnetization

    def run(key):
        key_start, key_run = jax.random.split(key)
        starts = model.uniform_configuration(key_start, (num_chains,))
        return jax.vmap(one_chain)(jax.random.split(key_run, num_chains), starts)

    return run


def ess_rate(name, step, init_fn, model, num_draws, sweeps_per_draw, burn_in, num_chains=4):
    import arviz as az  # after numpyro (imported by physsamp)

    run, compile_time = compiled(observe(step, init_fn, model, num_chains, num_draws),
                                 jax.random.key(0))  # fmt: skip
    start = time.perf_counter()
    energy, magnetization = jax.block_until_ready(run(jax.random.key(1)))
    elapsed = time.perf_counter() - start
    kept = slice(burn_in, None)
    ess = {label: float(az.ess(np.asarray(values[:, kept], dtype=np.float64)))
           for label, values in (("abs_m", magnetization), ("energy", energy))}  # fmt: skip
    draws = num_chains * (num_draws - burn_in)
    kept_time = elapsed * (num_draws - burn_in) / num_draws
    return {
        "kernel": name,
        "sweeps": num_chains * num_draws * sweeps_per_draw,
        "time": elapsed,
        "compile": compile_time,
        "tau_abs_m": draws / ess["abs_m"] * sweeps_per_draw / 2,
        "tau_energy": draws / ess["energy"] * sweeps_per_draw / 2,
        "ess_abs_m": ess["abs_m"] / kept_time,
        "ess_energy": ess["energy"] / kept_time,
    }


def gibbs_tau_literature(size: int) -> float:
    """tau_int(|m|) of checkerboard Gibbs at beta_c in sweeps: 132 at L = 32, z = 2.17."""
    return 132.0 * (size / 32) ** 2.17


def print_ess_table(results: dict) -> None:
    print("\n2. Effective samples per second at beta_c, 4 chains (compile excluded)")
    print(f"{'L':>4} {'kernel':<12} {'sweeps':>8} {'wall s':>7} {'tau |m|':>8} {'tau E':>7} "
          f"{'ESS/s |m|':>10} {'ESS/s E':>9} {'compile s':>10}")  # fmt: skip
    for size, rows in results.items():
        for row in rows:
            print(f"{size:>4} {row['kernel']:<12} {row['sweeps']:>8} {row['time']:7.1f} "
                  f"{row['tau_abs_m']:8.1f} {row['tau_energy']:7.1f} {row['ess_abs_m']:10.1f} "
                  f"{row['ess_energy']:9.1f} {row['compile']:10.2f}")  # fmt: skip
        sw, gibbs = rows
        gain_m = sw["ess_abs_m"] / gibbs["ess_abs_m"]
        gain_energy = sw["ess_energy"] / gibbs["ess_energy"]
        print(f"{'':>4} {'SW / Gibbs':<12} {'':>42} {gain_m:9.1f}x {gain_energy:8.1f}x")
    print("tau in sweeps, tau_int = draws / (2 ESS) x sweeps per draw (physics convention)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about one minute")
    args = parser.parse_args()
    quick = args.quick
    try:
        from _numba_reference import swendsen_wang_union_find as numba_sw
    except ImportError:
        numba_sw = None
        print("numba not installed (uv sync --group bench): physsamp only")
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; beta_c = {BETA_CRITICAL:.6f}")

    rows = []
    repeats = 2 if quick else 3
    sizes = (64, 256) if quick else (64, 256, 1024)
    for size in sizes:
        model = ps.Ising.lattice((size, size), beta=BETA_CRITICAL)
        num_sweeps = max(2, min(50, 2_000_000 // model.num_sites))
        rows.append(sweep_times(model, f"square L={size} (lattice path)", num_sweeps, repeats,
                                numba_sw))  # fmt: skip
        if size == 256:
            rows.append(sweep_times(generic_copy(model), f"square L={size} (edge-list path)",
                                    num_sweeps, repeats, numba_sw))  # fmt: skip
    graph = nx.random_regular_graph(3, 100_000, seed=0)
    regular = ps.Ising(graph, beta=BETA_BETHE_3)
    rows.append(sweep_times(regular, "random 3-regular, beta_c", 10, repeats, numba_sw))
    print_sweep_table(rows)

    results = {}
    sw_draws = 600 if quick else 2500
    for size in (32, 64) if quick else (32, 64, 128):
        model = ps.Ising.lattice((size, size), beta=BETA_CRITICAL)
        sw = ess_rate("SW", swendsen_wang.build_kernel(), swendsen_wang.init, model,
                      num_draws=sw_draws, sweeps_per_draw=1, burn_in=50)  # fmt: skip
        tau = gibbs_tau_literature(size)
        thinning = max(1, int(tau / 20))
        # ~100 autocorrelation times (15 in the quick run, an ESS overestimate that favours
        # Gibbs)
        total_sweeps = (15 if quick else 100) * tau
        gibbs_draws = int(total_sweeps / thinning)
        gibbs = ess_rate("block Gibbs", block_gibbs.build_kernel(num_sweeps=thinning),
                         block_gibbs.init, model, num_draws=gibbs_draws + 100,
                         sweeps_per_draw=thinning, burn_in=100)  # fmt: skip
        results[size] = [sw, gibbs]
    print_ess_table(results)


if __name__ == "__main__":
    main()
