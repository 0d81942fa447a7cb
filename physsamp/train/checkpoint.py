"""Checkpoints of a training run in a documented, pickle-free ``.npz`` format.

A checkpoint holds the whole :class:`~physsamp.train.fit.TrainState` (parameters, optimiser
state, persistent chains, clamped hidden units, the run's key and epoch) and the
:class:`~physsamp.train.fit.History`, so that ``fit(..., resume_from=path)`` continues the run
and ends bit for bit where an uninterrupted run ends.

**Format** (``numpy.savez``, read with ``allow_pickle=False``): ``leaf_00000``,
``leaf_00001``, ... are the state's arrays in ``jax.tree_util`` flattening order (a PRNG key
as its ``uint32`` key data); ``meta`` is a JSON string with ``format``
(``"physsamp-train-checkpoint/1"``), ``tree`` (the state's tree structure, as text),
``leaves`` (shape, dtype and whether it is a key, per leaf), ``config`` (the training
arguments the state depends on) and ``history``.

Writes go to a temporary file in the same folder, then replace the target in one step: an
interrupted write never damages the previous checkpoint. A truncated or corrupt file, or one
written by a run with other arguments, gives a ``ValueError`` that says so.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

FORMAT = "physsamp-train-checkpoint/1"


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def save_checkpoint(path: str | os.PathLike, state: Any, history: Any, config: dict) -> None:
    """Write ``state`` (a pytree of arrays), ``history`` and ``config`` to ``path``."""
    leaves, tree = jax.tree_util.tree_flatten(state)
    arrays: dict[str, np.ndarray] = {}
    described = []
    for index, leaf in enumerate(leaves):
        key = _is_key(leaf)
        array = np.asarray(jax.random.key_data(leaf) if key else leaf)
        arrays[f"leaf_{index:05d}"] = array
        described.append({"shape": list(array.shape), "dtype": str(array.dtype), "key": key})
    meta = {
        "format": FORMAT,
        "tree": str(tree),
        "leaves": described,
        "config": config,
        "history": history.to_dict(),
    }
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(prefix=".checkpoint-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """The metadata and the leaf arrays of a checkpoint, checked for completeness."""
    target = os.fspath(path)
    with open(target, "rb") as handle:
        content = handle.read()
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as file:
            meta = json.loads(str(file["meta"][()]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"unknown format {meta.get('format')!r}, expected {FORMAT!r}")
            leaves = [np.asarray(file[f"leaf_{i:05d}"]) for i in range(len(meta["leaves"]))]
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as error:
        raise ValueError(
            f"cannot read the checkpoint {target}: the file is corrupt, truncated "
            f"or not a physsamp training checkpoint ({error})"
        ) from error
    for index, (leaf, described) in enumerate(zip(leaves, meta["leaves"], strict=True)):
        if list(leaf.shape) != described["shape"] or str(leaf.dtype) != described["dtype"]:
            raise ValueError(
                f"the checkpoint {target} is damaged: array {index} has shape "
                f"{leaf.shape} {leaf.dtype}, its record says {described}"
            )
    return meta, leaves


def check_config(meta: dict, config: dict, path: str | os.PathLike) -> None:
    """Raise unless the checkpoint's training arguments equal ``config``."""
    if meta["config"] == config:
        return
    keys = sorted(set(config) | set(meta["config"]))
    differ = [k for k in keys if config.get(k) != meta["config"].get(k)]
    details = ", ".join(
        f"{k}: {meta['config'].get(k)!r} there, {config.get(k)!r} here" for k in differ
    )
    raise ValueError(
        f"the checkpoint {os.fspath(path)} comes from a run with other arguments ({details})"
    )


def restore(meta: dict, leaves: list[np.ndarray], template: Any, path: str | os.PathLike) -> Any:
    """The state of a checkpoint read by :func:`read_checkpoint`, in the structure of
    ``template`` (a fresh state of the same run, which also gives the kind of key)."""
    template_leaves, tree = jax.tree_util.tree_flatten(template)
    if str(tree) != meta["tree"] or len(template_leaves) != len(leaves):
        raise ValueError(
            f"the checkpoint {os.fspath(path)} holds a state of another structure "
            "(a different model, optimizer or method)"
        )
    restored = []
    for leaf, template_leaf in zip(leaves, template_leaves, strict=True):
        if _is_key(template_leaf):
            impl = jax.random.key_impl(template_leaf)
            restored.append(jax.random.wrap_key_data(jnp.asarray(leaf), impl=impl))
            continue
        expected = np.asarray(template_leaf)
        if leaf.shape != expected.shape or leaf.dtype != expected.dtype:
            raise ValueError(
                f"the checkpoint {os.fspath(path)} does not fit this run: an array of shape "
                f"{leaf.shape} {leaf.dtype} where {expected.shape} {expected.dtype} is expected"
            )
        restored.append(jnp.asarray(leaf))
    return jax.tree_util.tree_unflatten(tree, restored)


def load_checkpoint(path: str | os.PathLike, template: Any, config: dict) -> tuple[Any, Any]:
    """``(state, history)`` from ``path``; ``template`` is a fresh state of the same run (it
    gives the tree structure and the kind of key), ``config`` the run's arguments, which must
    match those the checkpoint was written with."""
    from physsamp.train.fit import History

    meta, leaves = read_checkpoint(path)
    check_config(meta, config, path)
    return restore(meta, leaves, template, path), History.from_dict(meta["history"])
