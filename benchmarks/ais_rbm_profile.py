"""Where one chunk of the RBM AIS loop spends its time, kernel by kernel: 256 steps of the
fused RBM transition on the digits RBM of ``benchmarks/ais.py``, traced with
``jax.profiler``, compiled as the library compiles it (YNNPACK for matrix products only,
512-bit vectors) and with XLA:CPU's defaults. Prints the time of each compiled kernel (XLA
fusion, YNNPACK call, copy) per chunk, summed over the chunk's steps, and the chunk's wall
time. Kernel names are XLA's: ``ynn_fusion`` are YNNPACK calls (matrix products and, by
default, reductions), ``compare_convert_fusion`` the unit draws, ``copy`` and ``transpose``
the layout changes.

Run: ``uv run python benchmarks/ais_rbm_profile.py`` (``--runs 64`` for a small batch)
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests"))

from models_fixtures import digits_data, train_rbm

from physsamp.infer.ais import base_rate_bias
from physsamp.kernels import ais

STEPS = 256


def kernel_times(compiled, args, repeats: int) -> tuple[collections.Counter, float]:
    """Microseconds per chunk spent in each named kernel, and the chunk's wall time."""
    jax.block_until_ready(compiled(*args))
    with tempfile.TemporaryDirectory() as folder:
        jax.profiler.start_trace(folder, create_perfetto_trace=True)
        start = time.perf_counter()
        for _ in range(repeats):
            jax.block_until_ready(compiled(*args))
        wall = (time.perf_counter() - start) / repeats
        jax.profiler.stop_trace()
        traces = glob.glob(os.path.join(folder, "**", "*.trace.json.gz"), recursive=True)
        with gzip.open(traces[0]) as file:
            events = json.load(file)
    events = events["traceEvents"] if isinstance(events, dict) else events
    totals: collections.Counter = collections.Counter()
    for event in events:
        name = event.get("name", "")
        kernel = "fusion" in name or name.startswith(("copy", "transpose"))
        if event.get("ph") == "X" and kernel and not name.startswith("end:"):
            totals[name] += event.get("dur", 0) / repeats
    return totals, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()

    data = digits_data()
    rbm = train_rbm(data, 20, seed=1)
    path = ais.default_path(rbm, base_rate_bias(data))
    step = ais.build_rbm_kernel()
    states = ais.rbm_init(path.base_sample(jax.random.key(0), (options.runs,)), path)
    keys = jax.random.split(jax.random.key(1), options.runs)
    schedule = ais.schedule("linear", STEPS + 1)
    t_from = jnp.asarray(schedule[:-1], jnp.float32)
    t_to = jnp.asarray(schedule[1:], jnp.float32)
    args = (keys, states, path, np.uint32(0), t_from, t_to, np.int32(STEPS))

    print(f"one chunk of {STEPS} RBM AIS steps, {options.runs} runs; us per chunk (per step)")
    for label, compiler_options in (
        ("as physsamp compiles it", ais._compiler_options()),
        ("XLA:CPU defaults", {}),
    ):
        function = jax.jit(ais._advance, static_argnames=("step",),
                           compiler_options=compiler_options)  # fmt: skip
        compiled = function.lower(*args, step=step).compile()
        totals, wall = kernel_times(compiled, args, options.repeats)
        print(f"\n{label}: chunk {wall * 1e6:9.0f} us ({wall / STEPS * 1e6:6.1f} a step) "
              "under the profiler")  # fmt: skip
        for name, microseconds in totals.most_common(12):
            print(f"  {name:32s} {microseconds:9.0f} ({microseconds / STEPS:6.1f})")
        total = sum(totals.values())
        print(f"  {'all kernels':32s} {total:9.0f} ({total / STEPS:6.1f})")


if __name__ == "__main__":
    main()
