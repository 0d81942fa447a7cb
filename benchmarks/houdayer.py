"""Houdayer cluster moves inside non-reversible parallel tempering, against the same tempering
without them, on 2D ±J Edwards-Anderson spin glasses with a known ground state.

    uv run python benchmarks/houdayer.py            # L = 8 and 16 (about 3 minutes)
    uv run python benchmarks/houdayer.py --quick    # L = 8, shorter runs (about 1 minute)

Instances: couplings ±1 drawn from ``--seed + i`` on an L x L lattice with open boundaries, no
field, target beta = 3, so that ``physsamp.lattice_exact.ground_state`` gives the exact
ground-state energy E0 of each.

Both methods hold two copies of the ladder (positions ``[2, R, N]``), on the same ladder, and
one step is, for both:

* plain: ``pt.build_kernel(block_gibbs.build_kernel())`` on a two-copy state: one block Gibbs
  (heat-bath) sweep of every replica of both copies, then one DEO swap phase in each copy
  (two independent ladders);
* Houdayer: ``pt.build_kernel(block_gibbs.build_kernel(), houdayer=True)``: the same sweep,
  then one Houdayer move between the two copies' replicas at every temperature, then the same
  swaps.

The only difference is the cluster move. Ladder: for each instance, tuned once by plain
two-copy warm-up (``pt.warmup``, fixed number of replicas: 16 at L = 8, 28 at L = 16, from
beta = 0 to 3), then used by both methods.

Per instance each method makes one run of ``steps`` steps from the same uniform random start
(fresh, not the warmed-up state), compiled beforehand, the two runs one after the other and the
order alternating between instances (plain first on even instances, Houdayer first on odd
ones), so that a change of machine load hits both alike. A run records only its round-trip
count, its swap rejection rates and, per step, the lowest energy of any replica at any
temperature in either copy (as ``ps.infer.ground_state`` does; energies as the kernel reports
them, after the sweep and the cluster move, before the swaps). Reported per method:

* steps/s (wall clock, compile excluded): best and median over the runs, and the Houdayer
  overhead, from the median of the per-instance ratios of the paired runs' times;
* round trips per 10^4 steps per copy over the whole run (from the random start), mean ±
  standard error over instances, beside the swap-limited rate
  1 / (2 + 2 sum_k r_k / (1 - r_k)) from the run's own swap rejection rates r_k
  (``pt.round_trip_rate``: what the ladder allows when one step decorrelates the energies);
* steps to the ground state: the first step at which some replica's energy is within 1e-3 of
  E0; median, quartiles and range over instances, runs that never reached it counted apart;
  seconds = steps x the method's median seconds per step.

``--profile`` (on by default, ``--no-profile`` to skip) then times one Houdayer phase at each
size on positions recorded from a Houdayer run on instance 0, two ways that make the very same
moves (same keys, same clusters; the script checks it): physsamp's ``houdayer_moves``, which
the kernel uses (every slot's clusters labelled at once on the disjoint union of the slots'
graphs, seed sites by a logarithmic-depth prefix sum), and ``houdayer_move`` vmapped over the
slots (one labelling per slot, every slot running as many hooking rounds as the slowest); and
the parts of each: the choice of the seed sites and the cluster labelling (also done one slot
after another); and a rewriting of ``houdayer_moves``, checked to make the same moves too, with
``disagree.any()`` as the guard against an empty cluster in place of ``num_disagreeing > 0``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import physsamp as ps
from physsamp.kernels import block_gibbs
from physsamp.kernels import parallel_tempering as pt
from physsamp.kernels.houdayer import houdayer_move, houdayer_moves
from physsamp.kernels.swendsen_wang import _connected_components
from physsamp.lattice_exact import ground_state

BETA_MAX = 3.0
REPLICAS = {8: 16, 16: 28}  # lattice size: replicas per copy
TOLERANCE = 1e-3
METHODS = ("plain", "houdayer")


def spin_glass(length: int, seed: int) -> ps.Ising:
    rng = np.random.default_rng(seed)
    couplings = rng.choice([-1.0, 1.0], size=(2, length, length))
    return ps.Ising.lattice((length, length), coupling=couplings, periodic=False, beta=BETA_MAX)


def kernels() -> dict:
    inner = block_gibbs.build_kernel()
    return {
        "plain": pt.build_kernel(inner),
        "houdayer": pt.build_kernel(inner, houdayer=True),
    }


def two_copies(model, betas, key) -> pt.ParallelTemperingState:
    starts = model.uniform_configuration(key, (2, len(betas)))
    return pt.init(starts, model, jnp.asarray(betas, jnp.float32), block_gibbs.init, num_copies=2)


@partial(jax.jit, static_argnames=("step", "num_steps"))
def search(rng_key, step, state, model, num_steps):
    """``num_steps`` steps; returns the final round-trip count and swap rejection rates, the
    lowest energy of any replica per step ``[steps]`` and the summed cluster sizes per slot
    (zeros without Houdayer moves)."""

    def body(carry, _):
        current, key, sizes = carry
        key, key_step = jax.random.split(key)
        current, info = step(key_step, current, model)
        if info.cluster_size is not None:
            sizes = sizes + info.cluster_size
        return (current, key, sizes), info.energy.min()

    sizes = jnp.zeros(state.betas.shape[0], jnp.int32)
    (final, _, sizes), lowest = jax.lax.scan(body, (state, rng_key, sizes), length=num_steps)
    return final.round_trips, final.rejection_rates, lowest, sizes


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def first_hits(lowest: np.ndarray, target: float) -> float:
    reached = np.flatnonzero(lowest <= target + TOLERANCE)
    return float(reached[0] + 1) if reached.size else float("inf")


def run_size(length: int, args) -> dict:
    num_replicas = REPLICAS[length]
    steps = args.steps[length]
    seeds = [args.seed + i for i in range(args.instances)]
    models = [spin_glass(length, seed) for seed in seeds]
    step = kernels()
    print(
        f"\n== L = {length} ({length * length} spins, open), beta 0 .. {BETA_MAX}, "
        f"{num_replicas} replicas x 2 copies, {args.instances} instances (seeds {seeds[0]}.."
        f"{seeds[-1]}), {steps} steps per run; load {load()} =="
    )

    begin = time.perf_counter()
    energies = [ground_state(model).energy for model in models]
    print(f"exact ground states: {time.perf_counter() - begin:.1f} s; E0 = {energies}")

    begin = time.perf_counter()
    ladders, barriers = [], []
    for seed, model in zip(seeds, models, strict=True):
        key_start, key_warm = jax.random.split(jax.random.key(10_000 + seed))
        state = two_copies(model, np.linspace(0.0, BETA_MAX, num_replicas), key_start)
        tuned = pt.warmup(key_warm, step["plain"], state, model, args.warmup)
        ladders.append(np.asarray(tuned.betas, np.float64))
        barriers.append(float(tuned.global_barrier))
    print(
        f"ladders tuned by plain two-copy warm-up ({args.warmup} steps each, compile included): "
        f"{time.perf_counter() - begin:.1f} s; global barrier Lambda {np.mean(barriers):.2f} "
        f"(range {min(barriers):.2f}-{max(barriers):.2f}), suggested replicas "
        f"{pt.suggested_num_replicas(np.mean(barriers))}, using {num_replicas}"
    )

    probe = two_copies(models[0], ladders[0], jax.random.key(0))
    compiled, compile_s = {}, {}
    for method in METHODS:
        begin = time.perf_counter()
        compiled[method] = search.lower(
            jax.random.key(0), step[method], probe, models[0], steps
        ).compile()
        compile_s[method] = time.perf_counter() - begin
    print("compile: " + ", ".join(f"{m} {compile_s[m]:.1f} s" for m in METHODS))

    runs: dict[str, list[dict]] = {method: [] for method in METHODS}
    load_start = load()
    for index, (seed, model) in enumerate(zip(seeds, models, strict=True)):
        key_start, key_run = jax.random.split(jax.random.key(seed))
        state = jax.block_until_ready(two_copies(model, ladders[index], key_start))
        order = METHODS if index % 2 == 0 else METHODS[::-1]
        for method in order:
            begin = time.perf_counter()
            trips, rates, lowest, sizes = jax.block_until_ready(
                compiled[method](key_run, state, model)
            )
            seconds = time.perf_counter() - begin
            lowest = np.asarray(lowest, np.float64)
            runs[method].append(
                {
                    "seed": seed,
                    "seconds": seconds,
                    "round_trips": int(trips),
                    "rejection_rates": np.asarray(rates, np.float64).tolist(),
                    "steps_to_ground_state": first_hits(lowest, energies[index]),
                    "lowest": float(lowest.min()),
                    "ground_state": energies[index],
                    "cluster_fraction": (np.asarray(sizes) / steps / model.num_sites).tolist(),
                }
            )
    load_end = load()
    print(f"runs interleaved; load {load_start} before, {load_end} after")
    results = {
        "length": length,
        "replicas": num_replicas,
        "steps": steps,
        "instances": seeds,
        "warmup": args.warmup,
        "barriers": barriers,
        "ladders": [ladder.tolist() for ladder in ladders],
        "compile_s": compile_s,
        "load": [load_start, load_end],
        "runs": runs,
    }
    results["summary"] = report(results)
    if args.profile:
        results["profile"] = profile(models[0], ladders[0], step, args)
    return results


def quartiles(values) -> tuple[float, float, float]:
    low, middle, high = np.quantile(np.asarray(values, np.float64), [0.25, 0.5, 0.75])
    return float(low), float(middle), float(high)


def report(results: dict) -> dict:
    steps, runs = results["steps"], results["runs"]
    summary: dict[str, dict] = {}
    for method in METHODS:
        rates = [steps / run["seconds"] for run in runs[method]]
        trips = np.array([run["round_trips"] / 2 / steps * 1e4 for run in runs[method]])
        hits = np.array([run["steps_to_ground_state"] for run in runs[method]])
        seconds_per_step = 1.0 / statistics.median(rates)
        summary[method] = {
            "steps_per_s": (max(rates), statistics.median(rates)),
            "round_trips_per_1e4": (
                float(trips.mean()),
                float(trips.std(ddof=1) / np.sqrt(trips.size)),
            ),
            "round_trips_per_s": float(trips.mean()) / 1e4 * statistics.median(rates),
            "swap_limited_per_1e4": float(
                np.mean([1e4 * pt.round_trip_rate(run["rejection_rates"]) for run in runs[method]])
            ),
            "steps_to_ground_state": quartiles(hits),
            "range": (float(hits.min()), float(hits.max())),
            "missed": int(np.isinf(hits).sum()),
            "seconds_to_ground_state": tuple(q * seconds_per_step for q in quartiles(hits)),
            "cluster_fraction": np.mean([run["cluster_fraction"] for run in runs[method]], axis=0),
        }
    paired = [
        houdayer["seconds"] / plain["seconds"]
        for plain, houdayer in zip(runs["plain"], runs["houdayer"], strict=True)
    ]
    speed = {method: summary[method]["steps_per_s"][1] for method in METHODS}
    faster = [
        houdayer["steps_to_ground_state"] / speed["houdayer"]
        < plain["steps_to_ground_state"] / speed["plain"]
        for plain, houdayer in zip(runs["plain"], runs["houdayer"], strict=True)
    ]
    overhead = statistics.median(paired)
    plain, houdayer = summary["plain"], summary["houdayer"]

    def cell(value, digits=0):
        return "never" if not np.isfinite(value) else f"{value:,.{digits}f}"

    rows = [
        ("steps/s, best", *(f"{summary[m]['steps_per_s'][0]:,.0f}" for m in METHODS),
         f"{houdayer['steps_per_s'][0] / plain['steps_per_s'][0]:.2f}"),
        ("steps/s, median", *(f"{summary[m]['steps_per_s'][1]:,.0f}" for m in METHODS),
         f"{houdayer['steps_per_s'][1] / plain['steps_per_s'][1]:.2f}"),
        ("time per step, paired runs (median)", "1", f"{overhead:.2f}",
         f"{overhead:.2f}"),
        ("round trips / 1e4 steps / copy",
         *("{:.1f} ± {:.1f}".format(*summary[m]["round_trips_per_1e4"]) for m in METHODS),
         f"{houdayer['round_trips_per_1e4'][0] / plain['round_trips_per_1e4'][0]:.2f}"),
        ("swap-limited rate / 1e4 steps / copy",
         *(f"{summary[m]['swap_limited_per_1e4']:.1f}" for m in METHODS), ""),
        ("observed / swap-limited",
         *(f"{summary[m]['round_trips_per_1e4'][0] / summary[m]['swap_limited_per_1e4']:.2f}"
           for m in METHODS), ""),
        ("round trips / s / copy (median speed)",
         *(f"{summary[m]['round_trips_per_s']:.1f}" for m in METHODS),
         f"{houdayer['round_trips_per_s'] / plain['round_trips_per_s']:.2f}"),
        ("steps to E0: median [quartiles]",
         *(f"{cell(summary[m]['steps_to_ground_state'][1])} "
           f"[{cell(summary[m]['steps_to_ground_state'][0])}-"
           f"{cell(summary[m]['steps_to_ground_state'][2])}]" for m in METHODS),
         f"{plain['steps_to_ground_state'][1] / houdayer['steps_to_ground_state'][1]:.2f}x fewer"),
        ("steps to E0: range",
         *(f"{cell(summary[m]['range'][0])}-{cell(summary[m]['range'][1])}" for m in METHODS), ""),
        ("never reached E0 (runs)",
         *(f"{summary[m]['missed']}/{len(runs[m])}" for m in METHODS), ""),
        ("seconds to E0: median [quartiles]",
         *(f"{cell(summary[m]['seconds_to_ground_state'][1], 3)} "
           f"[{cell(summary[m]['seconds_to_ground_state'][0], 3)}-"
           f"{cell(summary[m]['seconds_to_ground_state'][2], 3)}]" for m in METHODS),
         f"{plain['seconds_to_ground_state'][1] / houdayer['seconds_to_ground_state'][1]:.2f}x "
         "faster"),
    ]  # fmt: skip
    print(f"{'':40}{'plain NRPT':>24}{'NRPT + Houdayer':>24}{'Houdayer / plain':>20}")
    for label, *cells in rows:
        print(f"{label:40}" + "".join(f"{c:>24}" for c in cells[:2]) + f"{cells[2]:>20}")
    print(
        f"instances where Houdayer reached E0 sooner in seconds: {sum(faster)}/{len(faster)}; "
        f"per-instance time ratios: {' '.join(f'{r:.2f}' for r in paired)}"
    )
    fraction = houdayer["cluster_fraction"]
    print(
        "mean Houdayer cluster size / N by slot (hot to cold): "
        + " ".join(f"{f:.2f}" for f in fraction)
    )
    for method in METHODS:
        summary[method]["cluster_fraction"] = summary[method]["cluster_fraction"].tolist()
    summary["overhead"] = overhead
    summary["paired_time_ratios"] = paired
    summary["houdayer_sooner_in_seconds"] = int(sum(faster))
    return summary


def profile(model, ladder, step, args) -> dict:
    """Time the parts of the Houdayer move on recorded slot pairs, interleaved."""
    num_sites = model.num_sites
    edges = model.edges
    nonzero = model.edge_couplings != 0
    state = two_copies(model, ladder, jax.random.key(1))
    state = pt.warmup(jax.random.key(2), step["houdayer"], state, model, 500)

    @partial(jax.jit, static_argnames="count")
    def record(key, state, count):
        def body(carry, _):
            current, key = carry
            key, key_step = jax.random.split(key)
            current, _ = step["houdayer"](key_step, current, model)
            return (current, key), current.positions_by_slot

        return jax.lax.scan(body, (state, key), length=count)[1]

    pairs = record(jax.random.key(3), state, args.profile_steps)  # [T, 2, R, N]
    num_slots = pairs.shape[2]

    # The library's move, as the kernel makes it: every slot at once.
    union_edges = (edges[None] + num_sites * jnp.arange(num_slots)[:, None, None]).reshape(-1, 2)
    union_nonzero = jnp.tile(nonzero, num_slots)

    def moves(key, first, second):
        return houdayer_moves(key, first, second, model)

    def seed_sites_prefix(key, first, second):
        """The seed sites as ``houdayer_moves`` draws them."""
        disagree = first != second
        count = disagree.sum(axis=1, dtype=jnp.int32)
        keys = jax.random.split(key, num_slots)
        rank = jax.vmap(lambda k, n: jax.random.randint(k, (), 0, jnp.maximum(n, 1)))(keys, count)
        prefix = jax.lax.associative_scan(jnp.add, disagree.astype(jnp.int32), axis=1)
        return jnp.argmax(prefix > rank[:, None], axis=1)

    def labels_union(first, second):
        """Every slot's clusters labelled at once, as ``houdayer_moves`` does."""
        flat = (first != second).reshape(-1)
        active = flat[union_edges[:, 0]] & flat[union_edges[:, 1]] & union_nonzero
        return _connected_components(union_edges, active, num_slots * num_sites)

    def moves_any(key, first, second):
        """``houdayer_moves`` rewritten with ``disagree.any()`` in place of
        ``num_disagreeing > 0`` as the guard against an empty cluster."""
        disagree = first != second
        site = seed_sites_prefix(key, first, second)
        component = labels_union(first, second)[0].reshape(num_slots, num_sites)
        chosen = jnp.take_along_axis(component, site[:, None], axis=1)
        cluster = (component == chosen) & disagree.any(axis=1, keepdims=True)
        return jnp.where(cluster, second, first), jnp.where(cluster, first, second)

    # The single move vmapped over the slots, as the kernel made it before.
    def move(key, a, b):
        return houdayer_move(key, a, b, model)

    def seed_site(key, a, b):
        disagree = a != b
        count = disagree.sum(dtype=jnp.int32)
        rank = jax.random.randint(key, (), 0, jnp.maximum(count, 1))
        return jnp.argmax(jnp.cumsum(disagree, dtype=jnp.int32) > rank)

    def labels(a, b):
        disagree = a != b
        active = disagree[edges[:, 0]] & disagree[edges[:, 1]] & nonzero
        return _connected_components(edges, active, num_sites)

    def vmapped(part, keyed=True):
        def batch(key, first, second):
            if keyed:
                return jax.vmap(part)(jax.random.split(key, num_slots), first, second)
            return jax.vmap(part)(first, second)

        return batch

    def unkeyed(part):
        return lambda key, first, second: part(first, second)

    def slot_by_slot(key, first, second):
        return jax.lax.map(lambda pair: labels(*pair), (first, second))

    def timed(batch):
        """``batch(key, first [R, N], second [R, N])`` over every recorded step in a scan."""

        def one(carry, pair):
            key, total = carry
            key, key_part = jax.random.split(key)
            out = batch(key_part, pair[0], pair[1])
            total = jax.tree.reduce(lambda x, y: x + y.sum(dtype=jnp.int32), out, total)
            return (key, total), None

        return jax.jit(lambda key, xs: jax.lax.scan(one, (key, jnp.int32(0)), xs)[0][1])

    library, before = "houdayer_moves (library)", "vmapped houdayer_move (before)"
    parts = {
        f"whole move, {library}": timed(moves),
        f"whole move, {before}": timed(vmapped(move)),
        "variant: library, guard any() not sum > 0": timed(moves_any),
        "seed sites, associative_scan (library)": timed(seed_sites_prefix),
        "seed sites, cumsum vmapped (before)": timed(vmapped(seed_site)),
        "labelling, disjoint union (library)": timed(unkeyed(labels_union)),
        "labelling, vmapped over slots (before)": timed(vmapped(labels, keyed=False)),
        "labelling, slot by slot (lax.map)": timed(slot_by_slot),
    }
    key = jax.random.key(4)
    # houdayer_moves makes the very same moves as the vmapped houdayer_move (same keys, same
    # clusters, same info), and so does the variant (positions).
    same = True
    checks = [jax.jit(moves), jax.jit(vmapped(move)), jax.jit(moves_any)]
    for index in range(min(20, pairs.shape[0])):
        key_check = jax.random.fold_in(key, index)
        together, one_by_one, variant = (
            check(key_check, pairs[index, 0], pairs[index, 1]) for check in checks
        )
        same &= all(
            np.array_equal(x, y)
            for x, y in zip(jax.tree.leaves(together), jax.tree.leaves(one_by_one), strict=True)
        )
        same &= all(np.array_equal(x, y) for x, y in zip(together[:2], variant, strict=True))
    for part in parts.values():
        jax.block_until_ready(part(key, pairs))
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(args.profile_repetitions):
        for name, part in parts.items():
            begin = time.perf_counter()
            jax.block_until_ready(part(key, pairs))
            times[name].append((time.perf_counter() - begin) / pairs.shape[0] * 1e6)
    rounds = jax.vmap(jax.vmap(lambda a, b: labels(a, b)[1]))(pairs[:, 0], pairs[:, 1])
    rounds = np.asarray(rounds)
    union_rounds = np.asarray(
        jax.vmap(lambda a, b: labels_union(a, b)[1])(pairs[:, 0], pairs[:, 1])
    )
    out = {name: (min(values), statistics.median(values)) for name, values in times.items()}
    out["same_moves"] = bool(same)
    out["hooking_rounds_mean"] = float(rounds.mean())
    out["hooking_rounds_max_over_slots_mean"] = float(rounds.max(axis=1).mean())
    out["hooking_rounds_union_mean"] = float(union_rounds.mean())
    print(
        f"profile of one Houdayer phase ({num_slots} slot pairs, {pairs.shape[0]} recorded "
        f"steps, {args.profile_repetitions} interleaved repetitions; load {load()}), "
        "microseconds per step, best / median:"
    )
    for name in parts:
        print(f"  {name:48}{out[name][0]:9.0f} {out[name][1]:9.0f}")
    for label, whole, seed, labelling in (
        ("library", f"whole move, {library}", "seed sites, associative_scan (library)",
         "labelling, disjoint union (library)"),
        ("before", f"whole move, {before}", "seed sites, cumsum vmapped (before)",
         "labelling, vmapped over slots (before)"),
    ):  # fmt: skip
        rest = [out[whole][i] - out[seed][i] - out[labelling][i] for i in (0, 1)]
        out[f"rest, {label}"] = tuple(rest)
        print(f"  {f'whole - seed sites - labelling, {label}':48}{rest[0]:9.0f} {rest[1]:9.0f}")
    speedup = [out[f"whole move, {before}"][i] / out[f"whole move, {library}"][i] for i in (0, 1)]
    out["speedup"] = tuple(speedup)
    guard = [
        out[f"whole move, {library}"][i] / out["variant: library, guard any() not sum > 0"][i]
        for i in (0, 1)
    ]
    out["guard_any_speedup"] = tuple(guard)
    print(
        f"  houdayer_moves / vmapped houdayer_move: {speedup[0]:.2f}x faster (best), "
        f"{speedup[1]:.2f}x (median); the same moves, variant included: {same}"
    )
    print(
        f"  guard any() / houdayer_moves: {guard[0]:.2f}x faster (best), {guard[1]:.2f}x (median)"
    )
    print(
        f"  hooking rounds per slot: mean {out['hooking_rounds_mean']:.2f}; slowest slot of a "
        "step (what the vmapped loop waits for): mean "
        f"{out['hooking_rounds_max_over_slots_mean']:.2f}; disjoint union: mean "
        f"{out['hooking_rounds_union_mean']:.2f}"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 8 only, short runs")
    parser.add_argument("--sizes", type=int, nargs="*", choices=sorted(REPLICAS))
    parser.add_argument("--instances", type=int, help="instances per size (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="the first instance's seed")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.steps = 1000, {8: 10_000, 16: 3_000}
        args.instances = args.instances or 8
        sizes = args.sizes or [8]
        args.profile_steps, args.profile_repetitions = 100, 5
    else:
        args.warmup, args.steps = 4000, {8: 20_000, 16: 12_000}
        args.instances = args.instances or 10
        sizes = args.sizes or [8, 16]
        args.profile_steps, args.profile_repetitions = 200, 7
    if args.instances < 5:
        parser.error("--instances must be at least 5 (timings are taken over the runs)")
    begin = time.perf_counter()
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}; physsamp {ps.__version__}; "
        f"{os.cpu_count()} CPUs; load {load()}; {shlex.join(sys.argv)}"
    )
    results = [run_size(length, args) for length in sizes]
    print(f"\ntotal {time.perf_counter() - begin:.0f} s; load {load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
