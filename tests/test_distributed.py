"""Two processes under jax.distributed on 127.0.0.1: AIS split over both gives the result of
one process with one device, bit for bit, on every path; chains gathered from both."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from checks import free_port, run_processes

import physsamp as ps

JOB = str(Path(__file__).with_name("multiprocess_job.py"))


# three Python processes (45-70 s): in the slow set to keep the default run short
@pytest.mark.slow
def test_ais_and_chains_across_two_processes(tmp_path):
    single, multi = tmp_path / "single.npz", tmp_path / "multi.npz"
    one_device = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    subprocess.run([sys.executable, JOB, "single", str(single)], env=one_device, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    port = str(free_port())
    run_processes([[sys.executable, JOB, "worker", str(i), port, str(multi)] for i in (0, 1)],
                  tmp_path, timeout=300, env=one_device)  # fmt: skip
    expected, found = np.load(single), np.load(multi)
    for name in expected.files:
        if name in ("energy", "check64"):
            continue
        np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
    energy = found["energy"]
    assert energy.shape == (4, 20)  # two chains from each process
    np.testing.assert_array_equal(energy[:2], expected["energy"])  # process 0's key
    assert not np.array_equal(energy[:2], energy[2:])  # process_key: the processes differ
    assert found["check64"].dtype == np.float64
    np.testing.assert_array_equal(found["check64"], energy.astype(np.float64) + 1e-12)


def test_one_process_is_the_trivial_case():
    key = jax.random.key(0)
    folded = jax.random.key_data(ps.process_key(key))
    np.testing.assert_array_equal(folded, jax.random.key_data(jax.random.fold_in(key, 0)))
    marker = object()
    assert ps.gather_inference_data(marker) is marker
    assert ps.distributed.host_array(jax.numpy.arange(3)).tolist() == [0, 1, 2]
