"""Running on many processes with JAX's own multi-process runtime (``jax.distributed``).

Every call here is SPMD: every process makes it, with the same arguments, after
``jax.distributed.initialize(...)``. With one process each function reduces to its trivial
case, so the same script runs on a laptop and on a cluster.

- :func:`process_key`: one key per process, for independent MCMC chains on each.
- :func:`gather_inference_data`: every process's chains in one ``InferenceData``.
- :func:`host_array`: a (possibly global, sharded over processes) array as a numpy array on
  every process; AIS uses it to read its runs back.

Example:
    >>> import jax, physsamp as ps
    >>> key = ps.process_key(jax.random.key(0))  # one process: the key folded with 0
    >>> bool((jax.random.key_data(key) == jax.random.key_data(
    ...     jax.random.fold_in(jax.random.key(0), 0))).all())
    True
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

__all__ = ["gather_inference_data", "host_array", "is_main_process", "process_key"]


def process_key(rng_key: jax.Array) -> jax.Array:
    """``rng_key`` folded with this process's index: give it to ``mcmc.run`` on every
    process so that the processes run different chains. (With the same key on every process,
    every process runs the very same chains, and ArviZ, seeing them side by side, reports a
    perfect R-hat.)"""
    return jax.random.fold_in(rng_key, jax.process_index())


def is_main_process() -> bool:
    """Whether this is process 0 (the one that shows progress bars and writes files)."""
    return jax.process_index() == 0


def host_array(value: Any) -> np.ndarray:
    """``value`` as a numpy array on every process. An array sharded over several processes
    is gathered (every process must call this, in the same order); anything else is read
    locally."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)


def _allgather_exact(values: np.ndarray) -> np.ndarray:
    """``values`` of every process, stacked ``[processes, ...]``, bit for bit whatever the
    dtype (``process_allgather`` would downcast float64 and int64 when x64 is off: the bytes
    travel instead)."""
    from jax.experimental import multihost_utils

    contiguous = np.ascontiguousarray(values)
    raw = contiguous.reshape(-1).view(np.uint8)
    gathered = np.asarray(multihost_utils.process_allgather(raw))
    return gathered.view(contiguous.dtype).reshape(-1, *contiguous.shape)


def gather_inference_data(idata: Any) -> Any:
    """Every process's chains concatenated along ``chain``, in one ``InferenceData``
    returned on every process (process 0 typically writes it). Each group with a ``chain``
    dimension is gathered, dtypes kept (float64 included); groups without one (observed
    data) are taken from this process. Every process must hold the same groups, variables,
    and numbers of chains and draws.

    With one process it returns ``idata`` unchanged.
    """
    if jax.process_count() == 1:
        return idata
    import arviz as az
    import xarray as xr

    count = jax.process_count()
    groups = {}
    for name in idata.groups():
        dataset = idata[name]
        if "chain" not in dataset.dims:
            groups[name] = dataset
            continue
        shapes = np.array([dataset[v].size for v in dataset.data_vars], dtype=np.int32)
        all_shapes = _allgather_exact(shapes)
        if not np.all(all_shapes == all_shapes[0]):
            raise ValueError(
                f"group {name!r} has different shapes on different processes; every process "
                "must run the same number of chains and draws"
            )
        variables = {}
        for var in dataset.data_vars:
            array = dataset[var]
            axis = array.dims.index("chain")
            gathered = _allgather_exact(array.values)  # [processes, ...]
            merged = np.concatenate(list(gathered), axis=axis)
            variables[var] = (array.dims, merged)
        coords = {d: dataset.coords[d].values for d in dataset.coords if d != "chain"}
        coords["chain"] = np.arange(count * dataset.sizes["chain"])
        groups[name] = xr.Dataset(variables, coords=coords, attrs=dataset.attrs)
    return az.InferenceData(**groups)
