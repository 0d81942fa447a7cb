r"""Block (chromatic) Gibbs sampling with heat-bath updates.

The sites are split into colour classes of mutually non-interacting sites; a sweep updates the
classes one after another, every site of a class at once from its exact conditional
:math:`p(x_i = \text{up} \mid x_{\partial i}) = \sigma(\beta\,(\text{up} - \text{down})\,
(h_i + \sum_j J_{ij} x_j))`. Lattices use the checkerboard stencil (``jnp.roll``), general
graphs gathers over padded neighbour lists, an RBM alternates its two layers with matrix
products. Each update leaves the model's distribution invariant, so the sweep does too.

Example:
    >>> import jax, physsamp as ps
    >>> from physsamp.kernels import block_gibbs
    >>> model = ps.Ising.lattice((8, 8), beta=0.3)
    >>> state = block_gibbs.init(model.uniform_configuration(jax.random.key(0)), model)
    >>> step = jax.jit(block_gibbs.build_kernel())
    >>> state, info = step(jax.random.key(1), state, model)
    >>> state.position.shape
    (64,)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int8

from physsamp.kernels._random import (
    blocks,
    check_generator,
    hash_uniforms,
    round_keys,
    split,
    uniforms,
)
from physsamp.models.base import EnergyModel, matmul
from physsamp.models.pairwise import PairwiseModel, ordered_sum
from physsamp.models.rbm import RBM

__all__ = ["BlockGibbsInfo", "BlockGibbsState", "build_kernel", "init"]


class BlockGibbsState(NamedTuple):
    """``position``: the model's units; ``hidden``: an RBM's hidden layer (empty otherwise)."""

    position: Int8[Array, " sites"]
    hidden: Int8[Array, " hidden"]


class BlockGibbsInfo(NamedTuple):
    """``flip_fraction``: the fraction of sites whose value changed during the step."""

    flip_fraction: Float[Array, ""]


def init(position: Array, model: EnergyModel) -> BlockGibbsState:
    """A state at ``position`` (a configuration of the model's sites). An RBM's hidden layer
    starts at zero; the first step draws it from its conditional before it is used."""
    position = jnp.asarray(position, dtype=jnp.int8)
    hidden_size = model.num_hidden if isinstance(model, RBM) else 0
    return BlockGibbsState(position, jnp.zeros(hidden_size, dtype=jnp.int8))


def build_kernel(num_sweeps: int = 1, generator: str = "hash"):
    """A step that makes ``num_sweeps`` full sweeps: ``step(rng_key, state, model)``.

    ``generator`` picks the per-site random numbers ("hash": fast counter-based, the default;
    "jax": ``jax.random.uniform``).
    """
    check_generator(generator)
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")

    def step(
        rng_key: jax.Array, state: BlockGibbsState, model: EnergyModel
    ) -> tuple[BlockGibbsState, BlockGibbsInfo]:
        if (
            isinstance(model, PairwiseModel)
            and model.lattice_shape is not None
            and model.num_sites >= MIN_STENCIL_SITES
        ):
            if model.uniform_coupling is not None:
                return _packed_step(rng_key, state, model, generator, num_sweeps)
            if generator == "hash" and model.num_sites >= MIN_LOOPED_HALF_SWEEP_SITES:
                return _stencil_step(rng_key, state, model, num_sweeps)
        sweep = _sweep_for(model)
        new_state = repeat(lambda key, current: sweep(key, current, model, generator),
                           rng_key, state, num_sweeps)  # fmt: skip
        changed = (new_state.position != state.position).mean(dtype=jnp.float32)
        return new_state, BlockGibbsInfo(flip_fraction=changed)

    return step


def _sweep_for(model: EnergyModel) -> Callable:
    if isinstance(model, RBM):
        return _rbm_sweep
    if isinstance(model, PairwiseModel):
        stencil = model.lattice_shape is not None and model.num_sites >= MIN_STENCIL_SITES
        return _stencil_sweep if stencil else _block_sweep
    raise TypeError(f"block Gibbs does not know how to sweep {type(model).__name__}")


def repeat(update, rng_key: jax.Array, state, times: int):
    """Apply ``update(key, state)`` ``times`` times with fresh keys. The key travels in the loop
    carry (scanning over a stack of keys trips JAX's key-reuse checker under vmap)."""
    if times == 1:
        return update(rng_key, state)

    def body(carry, _):
        current, key = carry
        key, key_update = jax.random.split(key)
        return (update(key_update, current), key), None

    (state, _), _ = jax.lax.scan(body, (state, rng_key), length=times)
    return state


def heat_bath(
    uniform: Float[Array, "..."], local_field: Float[Array, "..."], model: EnergyModel
) -> Int8[Array, "..."]:
    """Draw units from their conditionals given the local fields."""
    down, up = model.unit_values
    probability_up = jax.nn.sigmoid((up - down) * model.beta * local_field)
    return jnp.where(uniform < probability_up, up, down).astype(jnp.int8)


#: lattices smaller than this use the neighbour-list path: on them the stencil's extra
#: operations cost more than its gathers save (same chain either way)
MIN_STENCIL_SITES = 2048

#: lattices at least this large run one half-sweep per loop iteration (see ``_packed_step``),
#: smaller ones unroll both halves; measured faster at every size on XLA:CPU, so all loop
MIN_LOOPED_HALF_SWEEP_SITES = 0

#: beyond this many colour classes a sweep loops over them instead of unrolling
MAX_UNROLLED_BLOCKS = 8


def _block_sweep(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, generator: str
) -> BlockGibbsState:
    if model.num_colors > MAX_UNROLLED_BLOCKS:
        return _looped_block_sweep(rng_key, state, model, generator)
    x = state.position
    keys = jax.random.split(rng_key, model.num_colors)
    for key, sites in zip(keys, model.blocks, strict=True):
        field = model.local_field(x, sites)
        x = x.at[sites].set(heat_bath(uniforms(key, sites, generator), field, model))
    return state._replace(position=x)


def _looped_block_sweep(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, generator: str
) -> BlockGibbsState:
    """Many colour classes (dense models: one site each) in a loop, so that compile time does
    not grow with their number. Classes are padded to one size with an out-of-range site whose
    reads are clamped and whose writes are dropped."""
    width = max(len(block) for block in model.blocks)
    padding = model.num_sites
    table = jnp.stack(
        [jnp.pad(block, (0, width - len(block)), constant_values=padding) for block in model.blocks]
    )

    def update(carry, sites):
        x, key = carry
        key, key_block = jax.random.split(key)
        readable = jnp.minimum(sites, padding - 1)
        field = model.local_field(x, readable)
        new = heat_bath(uniforms(key_block, readable, generator), field, model)
        return (x.at[sites].set(new, mode="drop"), key), None

    (x, _), _ = jax.lax.scan(update, (state.position, rng_key), table)
    return state._replace(position=x)


def _stencil_sweep(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, generator: str
) -> BlockGibbsState:
    assert model.lattice_shape is not None and model.bond_couplings is not None
    shape = model.lattice_shape
    grid = state.position.reshape(shape)
    field = model.field.reshape(shape)
    counters = jnp.arange(model.num_sites, dtype=jnp.uint32).reshape(shape)
    parity = sum(jax.lax.broadcasted_iota(jnp.int32, shape, d) for d in range(len(shape))) % 2
    forward = model.bond_couplings
    backward = [jnp.roll(forward[d], 1, axis=d) for d in range(len(shape))]
    keys = jax.random.split(rng_key, 2)
    for color in range(2):
        local = _stencil_local_field(grid, forward, backward, field)
        new = heat_bath(uniforms(keys[color], counters, generator), local, model)
        grid = jnp.where(parity == color, new, grid)
    return state._replace(position=grid.reshape(-1))


def _stencil_local_field(grid: Array, forward: Array, backward: list[Array], field: Array):
    """Local fields on the whole lattice, summed in the neighbour-list order
    (+e_0, -e_0, +e_1, ...) so that both paths round alike."""
    values = grid.astype(jnp.float32)
    terms = []
    for d in range(grid.ndim):
        terms.append(forward[d] * jnp.roll(values, -1, axis=d))
        terms.append(backward[d] * jnp.roll(values, 1, axis=d))
    return ordered_sum(terms) + field


def _stencil_step(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, sweeps: int
) -> tuple[BlockGibbsState, BlockGibbsInfo]:
    """``_stencil_sweep`` with one half-sweep per loop iteration (see ``_packed_step``)."""
    assert model.lattice_shape is not None and model.bond_couplings is not None
    shape = model.lattice_shape
    field = model.field.reshape(shape)
    counters = jnp.arange(model.num_sites, dtype=jnp.uint32).reshape(shape)
    parity = sum(jax.lax.broadcasted_iota(jnp.int32, shape, d) for d in range(len(shape))) % 2
    forward = model.bond_couplings
    backward = [jnp.roll(forward[d], 1, axis=d) for d in range(len(shape))]

    def half_sweep(carry, keys):
        grid, color = carry
        local = _stencil_local_field(grid, forward, backward, field)
        new = heat_bath(hash_uniforms(keys, counters), local, model)
        return (jnp.where(parity == color, new, grid), 1 - color), None

    start = state.position.reshape(shape)
    keys = half_sweep_round_keys(rng_key, sweeps)
    (grid, _), _ = jax.lax.scan(half_sweep, (start, jnp.int32(0)), keys)
    position = grid.reshape(-1)
    changed = (position != state.position).mean(dtype=jnp.float32)
    return state._replace(position=position), BlockGibbsInfo(flip_fraction=changed)


def _rbm_sweep(
    rng_key: jax.Array, state: BlockGibbsState, model: RBM, generator: str
) -> BlockGibbsState:
    key_hidden, key_visible = jax.random.split(rng_key)
    hidden_sites = jnp.arange(model.num_hidden, dtype=jnp.uint32)
    visible_sites = jnp.arange(model.num_visible, dtype=jnp.uint32)
    visible = state.position.astype(jnp.float32)
    hidden_field = matmul(visible, model.weights) + model.hidden_bias
    hidden = heat_bath(uniforms(key_hidden, hidden_sites, generator), hidden_field, model)
    visible_field = matmul(hidden.astype(jnp.float32), model.weights.T) + model.visible_bias
    position = heat_bath(uniforms(key_visible, visible_sites, generator), visible_field, model)
    return BlockGibbsState(position, hidden)


class _Checkerboard(NamedTuple):
    """A periodic lattice with even extents split by colour and packed along its last axis:
    colour c holds the sites of coordinate sum parity c, the one at ``(x', 2k + q_c(x'))`` at
    ``[x', k]``, where ``q_c(x') = (c + sum(x')) % 2``. Each colour's neighbours of the other
    colour are then a few rolls away, so a half-sweep touches only the sites it updates.

    A batch of configurations (independent runs) is stored along trailing axes,
    ``[*packed, runs]``, so that the rolls move whole rows of runs and the innermost, contiguous
    axis is long; the arrays below then carry matching trailing unit axes."""

    offset: tuple[Array, Array]  # q_c, broadcastable to the packed shape
    counters: tuple[Array, Array]  # global site indices, for the random numbers
    field: tuple[Array, Array]


def _checkerboard(model: PairwiseModel, batch_axes: int = 0) -> _Checkerboard:
    assert model.lattice_shape is not None
    shape = model.lattice_shape
    packed = (*shape[:-1], shape[-1] // 2)
    parity = sum(
        jax.lax.broadcasted_iota(jnp.uint32, (*shape[:-1], 1), d) for d in range(len(shape) - 1)
    )
    strides = jnp.cumprod(jnp.array((*shape[1:], 1), jnp.uint32)[::-1])[::-1]
    base = sum(
        jax.lax.broadcasted_iota(jnp.uint32, packed, d) * strides[d] for d in range(len(shape) - 1)
    )
    column = 2 * jax.lax.broadcasted_iota(jnp.uint32, packed, len(shape) - 1)
    offsets = tuple((parity + color) % 2 for color in range(2))
    counters = tuple(base + column + offset for offset in offsets)
    field = tuple(model.field[c] for c in counters)
    trailing = (1,) * batch_axes

    def expand(values):
        return tuple(v.reshape(*v.shape, *trailing) for v in values)

    return _Checkerboard(expand(offsets), expand(counters), expand(field))  # type: ignore[arg-type]


def _pack(grid: Array, board: _Checkerboard) -> tuple[Array, Array]:
    pairs = grid.reshape(*grid.shape[:-1], grid.shape[-1] // 2, 2)
    first, second = (jnp.where(q == 0, pairs[..., 0], pairs[..., 1]) for q in board.offset)
    return first, second


def _unpack(colors: tuple[Array, Array], board: _Checkerboard) -> Array:
    first, second = colors
    even = jnp.where(board.offset[0] == 0, first, second)
    odd = jnp.where(board.offset[0] == 0, second, first)
    return jnp.stack([even, odd], axis=-1).reshape(-1)


def pack_runs(positions: Array, model: PairwiseModel) -> tuple[Array, Array]:
    """Configurations ``[runs, sites]`` of a lattice model with a uniform coupling in the
    batched packed form ``[*packed, runs]`` of ``_Checkerboard`` (one pair of arrays)."""
    assert model.lattice_shape is not None
    board = _checkerboard(model)
    grids = jnp.asarray(positions, jnp.int8).reshape(-1, *model.lattice_shape)
    first, second = jax.vmap(lambda grid: _pack(grid, board))(grids)
    return jnp.moveaxis(first, 0, -1), jnp.moveaxis(second, 0, -1)


def unpack_runs(colors: tuple[Array, Array], model: PairwiseModel) -> Array:
    """The inverse of :func:`pack_runs`: configurations ``[runs, sites]``."""
    board = _checkerboard(model)
    first, second = (jnp.moveaxis(c, -1, 0) for c in colors)
    return jax.vmap(lambda a, b: _unpack((a, b), board))(first, second)


def _packed_step(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, generator: str, sweeps: int
) -> tuple[BlockGibbsState, BlockGibbsInfo]:
    """Sweeps of the packed checkerboard, one half-sweep per loop iteration (see
    ``packed_sweeps``)."""
    assert model.lattice_shape is not None and model.uniform_coupling is not None
    if generator != "hash" or model.num_sites < MIN_LOOPED_HALF_SWEEP_SITES:
        return _packed_step_unrolled(rng_key, state, model, generator, sweeps)
    board = _checkerboard(model)
    colors = _pack(state.position.reshape(model.lattice_shape), board)
    keys = half_sweep_round_keys(rng_key, sweeps)
    first, second = packed_sweeps(keys, colors, model, board)
    position = _unpack((first, second), board)
    changed = (position != state.position).mean(dtype=jnp.float32)
    return state._replace(position=position), BlockGibbsInfo(flip_fraction=changed)


def packed_sweeps(
    round_keys: Array, colors: tuple[Array, Array], model: PairwiseModel, board: _Checkerboard
) -> tuple[Array, Array]:
    """Half-sweeps of a lattice with a uniform coupling in packed form: see
    ``packed_sweeps_and_energy``, which also gives the starting energy."""
    return _packed_sweeps(round_keys, colors, model, board, energy=False)[0]


def packed_sweeps_and_energy(
    round_keys: Array, colors: tuple[Array, Array], model: PairwiseModel, board: _Checkerboard
) -> tuple[tuple[Array, Array], Array]:
    r"""Half-sweeps of a lattice with a uniform coupling in packed form (``colors``, see
    ``_Checkerboard``, with or without a trailing batch axis), colour 0 first, one per row of
    ``round_keys [half-sweeps, 3, *batch]``; returns the new colours and the energy of the
    configuration the sweeps started from.

    One half-sweep runs per loop iteration: two dependent half-sweeps in one loop body run five
    times slower on XLA:CPU (the rolls of the second half fuse the first half's whole update,
    hash and sigmoid, into each of their reads and recompute it). Between iterations the
    half-sweep's output is materialised. The random numbers follow the key schedule of the
    other paths (see ``half_sweep_round_keys``), so the chain is theirs bit for bit.

    The energy costs almost nothing: every bond joins a site of colour 0 to one of colour 1,
    so :math:`\sum_{\langle ij \rangle} x_i x_j = \sum_{i \in 0} x_i n_i`, with :math:`n_i`
    the neighbour sum the first half-sweep forms anyway; each half-sweep writes the products
    :math:`x_i n_i` of the values it replaces (small integers, int8) beside its update. A
    reduction over the updated values instead would make XLA recompute the update for it.
    """
    colors, energy = _packed_sweeps(round_keys, colors, model, board, energy=True)
    assert energy is not None
    return colors, energy


def _packed_sweeps(
    round_keys: Array,
    colors: tuple[Array, Array],
    model: PairwiseModel,
    board: _Checkerboard,
    energy: bool,
) -> tuple[tuple[Array, Array], Array | None]:
    assert model.lattice_shape is not None and model.uniform_coupling is not None
    coupling = model.uniform_coupling
    dims = len(model.lattice_shape)
    fields = jnp.stack(board.field)

    def half_sweep(carry, keys):
        old, other, color = carry
        offset = (board.offset[0] + color.astype(jnp.uint32)) % 2
        total = _packed_neighbour_sum(other, offset, dims)
        counters = board.counters[0] - board.offset[0] + offset
        uniform = hash_uniforms(keys, counters)
        if model.uniform_field is None:
            local = coupling * total.astype(jnp.float32) + fields[color]
            new = heat_bath(uniform, local, model)
        else:
            new = _heat_bath_by_table(uniform, total, 2 * dims, coupling, model)
        products = old * total.astype(jnp.int8) if energy else None
        return (other, new, 1 - color), products

    (first, second, _), products = jax.lax.scan(half_sweep, (*colors, jnp.int32(0)), round_keys)
    if products is None:
        return (first, second), None
    bonds = _lattice_sum(products[0].astype(jnp.float32), dims)
    return (first, second), -(coupling * bonds + _field_sum(colors, model, board))


def sweep_runs(
    round_keys: Array, colors: tuple[Array, Array], model: PairwiseModel
) -> tuple[tuple[Array, Array], Array]:
    """Sweeps of every run of a batch in the packed form of :func:`pack_runs`, run ``r``
    with the round keys ``round_keys[..., r] = half_sweep_round_keys(key_r, sweeps)``
    (``[half-sweeps, 3, runs]``): the chain of each run is the one ``build_kernel(sweeps)``
    makes from ``key_r``, bit for bit. Returns the new colours and the energies ``[runs]`` of
    the configurations before the sweeps (see ``packed_sweeps_and_energy``)."""
    board = _checkerboard(model, batch_axes=1)
    return packed_sweeps_and_energy(round_keys, colors, model, board)


def energy_of_runs(colors: tuple[Array, Array], model: PairwiseModel) -> Array:
    """The energies ``[runs]`` of a batch in the packed form of :func:`pack_runs`: the sum
    over bonds is over colour 1's sites of the value times the sum of its neighbours."""
    assert model.lattice_shape is not None and model.uniform_coupling is not None
    board = _checkerboard(model, batch_axes=1)
    dims = len(model.lattice_shape)
    first, second = colors
    total = _packed_neighbour_sum(first, board.offset[1], dims)
    bonds = _lattice_sum(second.astype(jnp.float32) * total.astype(jnp.float32), dims)
    return -(model.uniform_coupling * bonds + _field_sum(colors, model, board))


def _field_sum(colors: tuple[Array, Array], model: PairwiseModel, board: _Checkerboard):
    r""":math:`\sum_i h_i x_i` of a packed configuration (or batch); with a uniform field, a
    zero field skips the pass over the lattice."""
    assert model.lattice_shape is not None
    dims = len(model.lattice_shape)
    first, second = colors
    if model.uniform_field is None:
        return _lattice_sum(first.astype(jnp.float32) * board.field[0], dims) + _lattice_sum(
            second.astype(jnp.float32) * board.field[1], dims
        )
    field = model.uniform_field

    def field_sum():
        return field * _lattice_sum((first + second).astype(jnp.float32), dims)

    zero = jnp.zeros(first.shape[dims:], jnp.float32)
    return jax.lax.cond(field != 0, field_sum, lambda: zero)


def _lattice_sum(values: Array, dims: int) -> Array:
    """The sum over the ``dims`` leading (lattice) axes, as a product with a vector of ones:
    XLA:CPU reduces over leading axes one output at a time with strided reads, while a
    matrix-vector product streams the rows. Sums of integers below 2^24 are exact in float32
    in any order."""
    rows = values.reshape(math.prod(values.shape[:dims]), -1)
    summed = matmul(jnp.ones(rows.shape[0], values.dtype), rows)
    return summed.reshape(values.shape[dims:])


def _packed_neighbour_sum(other: Array, offset: Array, dims: int | None = None) -> Array:
    """The sum of the other colour's neighbours of every packed site (see ``_Checkerboard``):
    along the packed last lattice axis, the site at the same index and the one on the side
    given by the offset; along every other axis, the same index one step away. Axes after the
    ``dims`` lattice axes are batch axes."""
    last = (other.ndim if dims is None else dims) - 1
    neighbours = [other]
    for axis in range(last):
        neighbours += [jnp.roll(other, 1, axis), jnp.roll(other, -1, axis)]
    neighbours.append(jnp.where(offset == 1, jnp.roll(other, -1, last), jnp.roll(other, 1, last)))
    return ordered_sum([n.astype(jnp.int32) for n in neighbours])


def _heat_bath_by_table(
    uniform: Array, total: Array, degree: int, coupling: Array, model: PairwiseModel
) -> Array:
    """``heat_bath`` when the local field takes only the 2d + 1 values ``J n + h``: the
    probabilities are computed once and selected by the neighbour sum ``n``, which saves an
    exponential per site."""
    assert model.uniform_field is not None
    down, up = model.unit_values
    sums = jnp.arange(-degree, degree + 1, 2)
    local = coupling * sums.astype(jnp.float32) + model.uniform_field
    table = jax.nn.sigmoid((up - down) * model.beta * local)
    probability_up = table[-1]
    for k in range(degree - 1, -1, -1):
        probability_up = jnp.where(total == sums[k], table[k], probability_up)
    return jnp.where(uniform < probability_up, up, down).astype(jnp.int8)


def half_sweep_round_keys(rng_key: jax.Array, sweeps: int) -> Array:
    """Round keys of every half-sweep, ``[2 * sweeps, 3]``, in the key schedule of ``repeat``
    and ``_stencil_sweep`` (one key per sweep, split in two for the colours)."""

    def of_sweep(key):
        first, second = split(key)
        return jnp.stack([round_keys(first), round_keys(second)])

    if sweeps == 1:
        return of_sweep(rng_key)

    def body(key, _):
        key, key_sweep = split(key)
        return key, of_sweep(key_sweep)

    _, keys = jax.lax.scan(body, rng_key, length=sweeps)
    return keys.reshape(2 * sweeps, 3)


def half_sweep_round_key_words(key: tuple[Array, Array], sweeps: int) -> Array:
    """:func:`half_sweep_round_keys` of many threefry keys at once, given by their words
    (two ``uint32`` arrays of one shape ``S``, see :func:`physsamp.kernels._random.key_words`):
    ``[2 * sweeps, 3, *S]``, the same words, laid out so that ``S`` stays innermost."""
    # Every word goes into one flat list, stacked once: composing per-key helpers (a stack of
    # three words per colour, or the three counters broadcast against S) made XLA:CPU lay the
    # words out far more slowly (benchmarks/keys.py).
    words = []
    for _ in range(sweeps):
        sweep_key = key
        if sweeps > 1:  # key, key_sweep = split(key)
            key, sweep_key = blocks(key, 0), blocks(key, 1)
        for color in (0, 1):  # first, second = split(key_sweep)
            color_key = blocks(sweep_key, color)
            for word in range(3):  # round_keys: bits(key, (3,)), one word per block
                first, second = blocks(color_key, word)
                words.append(first ^ second)
    return jnp.stack(words).reshape(2 * sweeps, 3, *key[0].shape)


def _packed_step_unrolled(
    rng_key: jax.Array, state: BlockGibbsState, model: PairwiseModel, generator: str, sweeps: int
) -> tuple[BlockGibbsState, BlockGibbsInfo]:
    assert model.lattice_shape is not None and model.uniform_coupling is not None
    coupling = model.uniform_coupling
    board = _checkerboard(model)
    colors = _pack(state.position.reshape(model.lattice_shape), board)

    def half_sweep(key, other, color):
        total = _packed_neighbour_sum(other, board.offset[color])
        local = coupling * total.astype(jnp.float32) + board.field[color]
        return heat_bath(uniforms(key, board.counters[color], generator), local, model)

    def sweep(key, current):
        key_first, key_second = jax.random.split(key)
        first = half_sweep(key_first, current[1], 0)
        return first, half_sweep(key_second, first, 1)

    new_colors = repeat(sweep, rng_key, colors, sweeps)
    position = _unpack(new_colors, board)
    changed = (position != state.position).mean(dtype=jnp.float32)
    return state._replace(position=position), BlockGibbsInfo(flip_fraction=changed)
