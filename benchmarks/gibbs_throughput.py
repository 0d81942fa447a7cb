"""Block Gibbs throughput on the 2D periodic Ising lattice, side by side in one run.

Spin updates per second (compile time excluded, reported apart) for physsamp's checkerboard
kernel with 1 and 16 chains, a plain numba checkerboard heat bath (benchmarks/
_numba_reference.py, all threads) and thrml's block Gibbs sampler when installed. Peers come
from the optional ``bench`` dependency group:

    uv sync --group bench
    uv run python benchmarks/gibbs_throughput.py            # L = 64, 256, 1024
    uv run python benchmarks/gibbs_throughput.py --quick    # L = 64, 256, shorter runs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import physsamp as ps
from physsamp.kernels import block_gibbs

BETA = 0.4406868


def timed(fn, *args):
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - start


def physsamp_rate(size: int, num_chains: int, budget: float) -> tuple[float, float]:
    model = ps.Ising.lattice((size, size), beta=BETA)
    num_sweeps = max(4, int(budget * 3e8 / (size * size * num_chains)))
    step = jax.jit(jax.vmap(block_gibbs.build_kernel(num_sweeps=num_sweeps), (0, 0, None)))
    starts = model.uniform_configuration(jax.random.key(0), (num_chains,))
    states = jax.vmap(block_gibbs.init, (0, None))(starts, model)
    (states, _), compile_and_run = timed(step, jax.random.split(jax.random.key(1), num_chains),
                                    states, model)  # fmt: skip
    _, elapsed = timed(step, jax.random.split(jax.random.key(2), num_chains), states, model)
    return size * size * num_chains * num_sweeps / elapsed, compile_and_run - elapsed


def numba_rate(size: int, budget: float) -> float | None:
    try:
        from _numba_reference import checkerboard_heat_bath
    except ImportError:
        return None
    spins = np.where(np.random.default_rng(0).random((size, size)) < 0.5, -1, 1).astype(np.int8)
    checkerboard_heat_bath(spins, BETA, 2, 0)  # compile
    num_sweeps = max(4, int(budget * 1e8 / (size * size)))
    start = time.perf_counter()
    checkerboard_heat_bath(spins, BETA, num_sweeps, 1)
    return size * size * num_sweeps / (time.perf_counter() - start)


def thrml_rate(size: int, budget: float) -> tuple[float, float] | None:
    try:
        import thrml
        from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init
    except ImportError:
        return None
    build_start = time.perf_counter()
    nodes = [thrml.SpinNode() for _ in range(size * size)]
    edges_array = np.asarray(ps.Ising.lattice((size, size)).edges)
    edges = [(nodes[i], nodes[j]) for i, j in edges_array]
    ebm = IsingEBM(nodes, edges, jnp.zeros(len(nodes)), jnp.ones(len(edges)), jnp.array(BETA))
    parity = np.indices((size, size)).sum(0).ravel() % 2
    blocks = [thrml.Block([nodes[i] for i in np.flatnonzero(parity == c)]) for c in range(2)]
    program = IsingSamplingProgram(ebm, blocks, clamped_blocks=[])
    build = time.perf_counter() - build_start
    init = hinton_init(jax.random.key(0), ebm, blocks, ())
    num_sweeps = max(4, int(budget * 3e7 / (size * size)))

    def run(key, sweeps):
        schedule = thrml.SamplingSchedule(n_warmup=sweeps, n_samples=1, steps_per_sample=1)
        return thrml.sample_states(key, program, schedule, init, [], [blocks[0]])

    timed(run, jax.random.key(1), num_sweeps)
    _, elapsed = timed(run, jax.random.key(2), num_sweeps)
    return size * size * num_sweeps / elapsed, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 64, 256 and short runs")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    args = parser.parse_args()
    sizes = args.sizes or ([64, 256] if args.quick else [64, 256, 1024])
    budget = 0.3 if args.quick else 1.0
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {jax.device_count()} device(s)")
    print("M spin updates / s (compile time apart)")
    header = (f"{'L':>5} {'physsamp 1ch':>13} {'physsamp 16ch':>14} {'numba':>8} {'thrml':>8}"
              f"  {'x numba':>8} {'x thrml':>8}  {'compile s':>9}")  # fmt: skip
    print(header)
    for size in sizes:
        single, compile_time = physsamp_rate(size, 1, budget)
        batched, _ = physsamp_rate(size, 16, budget)
        reference = numba_rate(size, budget)
        peer = thrml_rate(size, budget) if size <= 256 else None
        thrml_value = peer[0] if peer else None

        def show(value):
            return f"{value / 1e6:8.0f}" if value else f"{'-':>8}"

        def ratio(value, single=single):
            return f"{single / value:8.1f}" if value else f"{'-':>8}"

        print(f"{size:>5} {single / 1e6:13.0f} {batched / 1e6:14.0f} {show(reference)} "
              f"{show(thrml_value)}  {ratio(reference)} {ratio(thrml_value)}  "
              f"{compile_time:9.2f}")  # fmt: skip
        if peer:
            print(f"      (thrml model build for L={size}: {peer[1]:.1f} s)")


if __name__ == "__main__":
    main()
