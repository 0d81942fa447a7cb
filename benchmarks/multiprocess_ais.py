"""Strong scaling of AIS over processes (jax.distributed) on one machine: the same AIS job
(same key, same runs) on 1 process with 1 device and on 2 processes with 1 device each,
started on 127.0.0.1, timed after a warm-up call (compilation excluded).

On a machine with 2 cores the two processes share those cores, so this measures what the
split costs and gains there, not what two machines would give. Jobs alternate between the two
layouts (``--repeats`` launches of each), each timing ``--calls`` calls; best and median over
all calls. The log-weights of every layout are checked equal to the first one's.

    uv run python benchmarks/multiprocess_ais.py              # about 2 minutes on 2 cores
    uv run python benchmarks/multiprocess_ais.py --task rbm --runs 128 --betas 1000
    uv run python benchmarks/multiprocess_ais.py --quick
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def worker(process_id: int, num_processes: int, port: int, out: str, args) -> None:
    import jax

    if num_processes > 1:
        from jax._src.lib import _jax

        make = _jax.make_gloo_tcp_collectives

        def on_loopback(distributed_client, **_):  # keep gloo's TCP pairs on 127.0.0.1
            return make(distributed_client=distributed_client, hostname="127.0.0.1")

        _jax.make_gloo_tcp_collectives = on_loopback
        jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=num_processes,
                                   process_id=process_id)  # fmt: skip
    import physsamp as ps

    model = (
        ps.Ising.lattice((args.side, args.side), beta=0.4)
        if args.task == "ising"
        else (ps.RBM(np.random.default_rng(0).normal(0, 0.05, (784, 64)), -0.5, -0.2))
    )

    def call():
        return ps.infer.ais_log_partition(model, jax.random.key(1), num_betas=args.betas,
                                          num_runs=args.runs, progress_bar=False,
                                          devices=jax.devices())  # fmt: skip

    first = call()
    times = []
    for _ in range(args.calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    if process_id == 0:
        np.savez(out, times=np.array(times), log_weights=first.log_weights)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(num_processes: int, args, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    out = folder / f"job_{num_processes}.npz"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    common = ["--task", args.task, "--side", str(args.side), "--runs", str(args.runs),
              "--betas", str(args.betas), "--calls", str(args.calls)]  # fmt: skip
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(i),
                str(num_processes),
                str(port),
                str(out),
                *common,
            ],
            env=env,
            start_new_session=True,
        )
        for i in range(num_processes)
    ]
    for process in processes:
        if process.wait(timeout=600) != 0:
            raise SystemExit(f"a worker of the {num_processes}-process job failed")
    result = np.load(out)
    return result["times"], result["log_weights"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["ising", "rbm"], default="ising")
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--runs", type=int, default=256)
    parser.add_argument("--betas", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", nargs=4, metavar=("ID", "PROCESSES", "PORT", "OUT"))
    args = parser.parse_args()
    if args.worker:
        process_id, num_processes, port, out = args.worker
        worker(int(process_id), int(num_processes), int(port), out, args)
        return
    if args.quick:
        args.betas, args.calls, args.repeats = 500, 2, 1
    times: dict[int, list[float]] = {1: [], 2: []}
    reference = None
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for count in (1, 2):
                elapsed, log_weights = launch(count, args, Path(folder))
                times[count].extend(elapsed.tolist())
                if reference is None:
                    reference = log_weights
                elif not np.array_equal(log_weights, reference):
                    print(
                        f"  note: {count} process(es) gave log-weights differing by up to "
                        f"{np.abs(log_weights - reference).max():.2e} (float32 rounding)"
                    )
    what = (f"{args.side}x{args.side} Ising lattice" if args.task == "ising"
            else "784 x 64 RBM")  # fmt: skip
    print(f"AIS of a {what}, {args.runs} runs x {args.betas} temperatures, 2 CPU cores")
    print(f"{'processes':>9} {'best s':>8} {'median s':>9} {'speed-up (median)':>18}")
    base = float(np.median(times[1]))
    for count in (1, 2):
        print(f"{count:>9} {min(times[count]):8.3f} {np.median(times[count]):9.3f} "
              f"{base / np.median(times[count]):18.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
