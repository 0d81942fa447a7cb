r"""Ground-state search by parallel tempering.

:func:`ground_state` runs a ladder of replicas from :math:`\beta = 0` down to a cold end
(:mod:`physsamp.kernels.parallel_tempering` with block Gibbs sweeps, an automatic ladder and,
for spin glasses, optional Houdayer cluster moves) and keeps the lowest energy any replica
visits. Parallel tempering is the standard heuristic for spin-glass ground states (Moreno,
Katzgraber & Hartmann, Int. J. Mod. Phys. C 14, 285 (2003); Wang, Machta & Katzgraber, Phys.
Rev. E 92, 013303 (2015)): it finds the ground state with high probability, not with a proof.
The result says how often the lowest energy was seen and whether more sweeps or a colder end
would make it more trustworthy; :func:`physsamp.exact.ground_state` (up to 24 units) and
:func:`physsamp.lattice_exact.ground_state` (2D lattices) are exact checks.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physsamp.kernels import block_gibbs
from physsamp.kernels import parallel_tempering as pt
from physsamp.models.pairwise import PairwiseModel

__all__ = ["GroundStateSearch", "ground_state"]


class GroundStateSearch(NamedTuple):
    """What :func:`ground_state` found.

    ``energy``: the lowest energy seen, in the model's energy units (no beta);
    ``configuration``: one configuration with that energy; ``hits``: the number of steps at
    which some replica sat at that energy; ``first_hit``: the step (1-based, after warm-up)
    at which it was first seen; ``cold_fraction``: the fraction of steps the coldest slot held
    it; ``num_sweeps``: the steps run after warm-up; ``betas``: the ladder used; ``advice``:
    whether to trust the answer, or to run more sweeps or use a colder end. Prints as one
    line and the advice.
    """

    energy: float
    configuration: np.ndarray
    hits: int
    first_hit: int
    cold_fraction: float
    num_sweeps: int
    betas: np.ndarray
    advice: str

    def __str__(self) -> str:
        return (
            f"lowest energy {self.energy:.6g}: first seen at sweep {self.first_hit} of "
            f"{self.num_sweeps}, seen at {self.hits} sweeps, {self.cold_fraction:.0%} of the "
            f"time at the coldest of {len(self.betas)} temperatures. {self.advice}"
        )


def ground_state(
    model: PairwiseModel,
    rng_key: jax.Array,
    num_sweeps: int = 10_000,
    *,
    num_warmup: int | None = None,
    beta_max: float | None = None,
    max_replicas: int | None = None,
    houdayer: bool = False,
    chunk_length: int = 1000,
    progress_bar: bool = True,
) -> GroundStateSearch:
    r"""Search for the lowest-energy configuration of a pairwise model by parallel tempering.

    Args:
        model: an Ising model, spin glass or Boltzmann machine (its own beta is ignored).
        rng_key: a JAX PRNG key; the search is reproducible from it.
        num_sweeps: ladder steps after warm-up (one block Gibbs sweep of every replica, then
            one swap phase).
        num_warmup: steps that tune the ladder (its spacing and, within ``max_replicas``, its
            size: about :math:`2\Lambda + 1` replicas); default ``num_sweeps // 4``.
        beta_max: the cold end of the ladder; default :math:`3 / \bar J` with :math:`\bar J`
            the median nonzero coupling magnitude (3 for a :math:`\pm J` glass, where the
            first excitations cost :math:`4J` and weigh :math:`e^{-12}`).
        max_replicas: the room the automatic ladder may grow into (default
            :func:`~physsamp.kernels.parallel_tempering.default_capacity`).
        houdayer: two copies of the ladder with Houdayer cluster moves between them (spin
            glasses on sparse graphs, above all in two dimensions).
        chunk_length: steps per compiled call (the progress bar moves once per chunk).
        progress_bar: show a tqdm bar over the chunks.

    Example:
        >>> import jax, numpy as np, physsamp as ps
        >>> couplings = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 4, 4))
        >>> glass = ps.Ising.lattice((4, 4), coupling=couplings)
        >>> found = ps.infer.ground_state(glass, jax.random.key(0), num_sweeps=500,
        ...                               progress_bar=False)
        >>> found.energy == ps.exact.ground_state(glass).energy
        True
    """
    if not isinstance(model, PairwiseModel):
        raise TypeError(f"ground_state needs a pairwise model (Ising, BoltzmannMachine), got "
                        f"{type(model).__name__}")  # fmt: skip
    num_sweeps = int(num_sweeps)
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")
    num_warmup = num_sweeps // 4 if num_warmup is None else int(num_warmup)
    if num_warmup < 0:
        raise ValueError(f"num_warmup must be >= 0, got {num_warmup}")
    if beta_max is None:
        magnitudes = np.abs(np.concatenate([np.asarray(model.edge_couplings).ravel(),
                                            np.asarray(model.field).ravel()]))  # fmt: skip
        magnitudes = magnitudes[magnitudes > 0]
        beta_max = 3.0 / float(np.median(magnitudes)) if magnitudes.size else 1.0
    beta_max = float(beta_max)
    if not np.isfinite(beta_max) or beta_max <= 0:
        raise ValueError(f"beta_max must be positive and finite, got {beta_max}")
    capacity = pt.default_capacity(model.num_sites) if max_replicas is None else int(max_replicas)
    if capacity < 2:
        raise ValueError(f"max_replicas must be >= 2, got {capacity}")
    num_copies = 2 if houdayer else 1
    cold = model.with_beta(beta_max)
    start = max(2, min(capacity, capacity // 2 + 1))
    key_start, key_warm, key_run = jax.random.split(rng_key, 3)
    shape = (capacity,) if num_copies == 1 else (2, capacity)
    state = pt.init(cold.uniform_configuration(key_start, shape), cold,
                    pt.default_ladder(beta_max, start), block_gibbs.init, capacity=capacity,
                    num_copies=num_copies)  # fmt: skip
    step = pt.build_kernel(block_gibbs.build_kernel(), houdayer=houdayer)
    if num_warmup > 0:
        state = pt.warmup(key_warm, step, state, cold, num_warmup, resize=True)

    best = _Best(
        energy=jnp.array(jnp.inf, jnp.float32),
        configuration=jnp.zeros(model.num_sites, state.replicas.position.dtype),
        hits=jnp.array(0, jnp.int32),
        first_hit=jnp.array(0, jnp.int32),
        cold_hits=jnp.array(0, jnp.int32),
    )
    chunks = [chunk_length] * (num_sweeps // chunk_length)
    if num_sweeps % chunk_length:
        chunks.append(num_sweeps % chunk_length)
    bar = None
    if progress_bar and len(chunks) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_sweeps, desc="ground state", unit="sweep")
    done = 0
    for index, length in enumerate(chunks):
        state, best = _search(jax.random.fold_in(key_run, index), step, state, cold, best,
                              jnp.array(done, jnp.int32), length)  # fmt: skip
        done += length
        if bar is not None:
            bar.update(length)
            bar.set_postfix(energy=float(best.energy))
    if bar is not None:
        bar.close()

    count = int(state.num_active)
    betas = np.asarray(state.betas)[:count]
    energy = float(best.energy)
    hits, first = int(best.hits), int(best.first_hit)
    cold_fraction = int(best.cold_hits) / num_sweeps
    return GroundStateSearch(
        energy=energy,
        configuration=np.asarray(best.configuration),
        hits=hits,
        first_hit=first,
        cold_fraction=cold_fraction,
        num_sweeps=num_sweeps,
        betas=betas,
        advice=_advice(first, hits, cold_fraction, num_sweeps, beta_max),
    )


class _Best(NamedTuple):
    energy: jax.Array
    configuration: jax.Array
    hits: jax.Array
    first_hit: jax.Array
    cold_hits: jax.Array


@partial(jax.jit, static_argnames=("step", "length"))
def _search(rng_key, step, state, model, best: _Best, offset, length: int):
    """``length`` ladder steps, keeping the lowest energy any replica visits."""

    def body(carry, number):
        current, best, key = carry
        key, key_step = jax.random.split(key)
        new, info = step(key_step, current, model)
        # info.energy is by slot, measured before the swaps: the slot's replica then was
        # current.replica_at_slot[slot], whose position the step has already updated.
        energy = info.energy.reshape(-1)
        positions = new.replicas.position.reshape(-1, model.num_sites)
        order = current.replica_at_slot
        if order.ndim == 2:  # two copies: replica r of copy c is row c * R + r
            order = order + order.shape[-1] * jnp.arange(2)[:, None]
        order = order.reshape(-1)
        slots = jnp.arange(energy.shape[0]) % current.betas.shape[0]
        energy = jnp.where(slots < current.num_active, energy, jnp.inf)
        lowest = jnp.argmin(energy)
        value = energy[lowest]
        tolerance = 1e-4 * (1.0 + jnp.abs(value))
        improved = value < best.energy - tolerance
        hit = jnp.abs(value - jnp.where(improved, value, best.energy)) <= tolerance
        top = current.num_active - 1
        cold = jnp.abs(info.energy.reshape(-1, current.betas.shape[0])[:, top] - value)
        at_cold = jnp.any(cold <= tolerance) & hit
        best = _Best(
            energy=jnp.where(improved, value, best.energy),
            configuration=jnp.where(improved, positions[order[lowest]], best.configuration),
            hits=jnp.where(improved, 1, best.hits + hit.astype(jnp.int32)),
            first_hit=jnp.where(improved, number, best.first_hit),
            cold_hits=jnp.where(improved, at_cold.astype(jnp.int32), best.cold_hits + at_cold),
        )
        return (new, best, key), None

    numbers = offset + jnp.arange(1, length + 1, dtype=jnp.int32)
    (state, best, _), _ = jax.lax.scan(body, (state, best, rng_key), numbers)
    return state, best


def _advice(first: int, hits: int, cold_fraction: float, num_sweeps: int, beta_max: float) -> str:
    notes = []
    if first > num_sweeps // 2:
        notes.append(f"first found in the second half of the run (sweep {first}): run more "
                     "sweeps to be confident no lower energy exists")  # fmt: skip
    elif hits < 10:
        notes.append(f"seen at only {hits} sweeps: run more sweeps")
    if cold_fraction < 0.1:
        notes.append(f"the coldest replica held it {cold_fraction:.0%} of the time: a colder "
                     f"end (beta_max > {beta_max:.3g}) would focus the search on it")  # fmt: skip
    if not notes:
        return (
            "Found early and revisited often: very likely the ground state (parallel "
            "tempering gives no proof; check small cases with physsamp.exact)."
        )
    return "Advice: " + "; ".join(notes) + "."
