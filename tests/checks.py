"""Checks shared by the kernel test files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
