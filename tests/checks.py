"""Checks shared by the kernel test files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax

import physsamp as ps


def run_with_host_devices(script: str, tmp_path: Path, devices: int = 2, timeout: int = 300):
    """Run ``script`` (dedented) in a fresh Python with ``devices`` host devices (set before jax
    starts) and assert that it exits cleanly and prints ``ok`` last."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    result = subprocess.run([sys.executable, str(path)], env=env, capture_output=True,
                            text=True, timeout=timeout)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def assert_step_compiles_once(kernel, key: jax.Array) -> None:
    """A kernel module's jitted step compiles once for a lattice and all its temperatures."""
    model = ps.Ising.lattice((8, 8), beta=0.3)
    step = jax.jit(kernel.build_kernel())
    state = kernel.init(model.uniform_configuration(key), model)
    state, _ = step(jax.random.key(1), state, model)
    for beta in (0.1, 0.5, 0.9):
        state, _ = step(jax.random.key(2), state, model.with_beta(beta))
    assert step._cache_size() == 1


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_processes(commands: list[list[str]], logs: Path, timeout: int = 300, env=None) -> None:
    """Start ``commands`` at once, each in its own process group, and wait for all of them
    within ``timeout`` seconds; on a timeout, kill each unfinished one by its own group id (no
    other process is touched) and fail. Output goes to ``logs/process_<i>.txt``; a command
    that fails fails the check with the end of its output."""
    processes, files = [], []
    for index, command in enumerate(commands):
        log = open(logs / f"process_{index}.txt", "w")
        files.append(log)
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                          env=env, start_new_session=True))  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its own group: start_new_session
                process.wait()
        raise AssertionError(f"processes still running after {timeout} s") from None
    finally:
        for log in files:
            log.close()
    for index, process in enumerate(processes):
        output = (logs / f"process_{index}.txt").read_text()
        assert process.returncode == 0, f"process {index} failed:\n{output[-3000:]}"
