r"""Swendsen–Wang cluster updates for any Ising model or Boltzmann machine, inside ``jit``.

A step is one sweep of the Swendsen–Wang algorithm [SW1987]_ in the joint spin–bond
representation of Edwards and Sokal [ES1988]_. For spins :math:`s_i = \pm 1` with energy
:math:`E(s) = -\sum_{(ij)} J_{ij} s_i s_j - \sum_i h_i s_i`, the joint weight

.. math:: p(s, n) \propto e^{\beta \sum_i h_i s_i} \prod_{(ij)}
   \big[(1 - p_{ij})\, \delta_{n_{ij}, 0}
   + p_{ij}\, \delta_{n_{ij}, 1}\, \mathbb{1}[J_{ij} s_i s_j > 0]\big],
   \qquad p_{ij} = 1 - e^{-2 \beta |J_{ij}|},

has :math:`p(s) \propto e^{-\beta E(s)}` as its spin marginal (up to a constant). The step
alternates its two exact conditionals:

1. **bonds given spins**: each *satisfied* edge (:math:`J_{ij} s_i s_j > 0`) is activated
   independently with probability :math:`p_{ij}`; unsatisfied edges stay inactive;
2. **spins given bonds**: the active bonds split the sites into clusters (connected
   components). Every active bond is satisfied, so a cluster :math:`C` admits exactly two
   configurations, its current one :math:`s_C` and the reversed :math:`-s_C`. The cluster keeps
   :math:`s_C` with probability :math:`\sigma(2 \beta \sum_{i \in C} h_i s_i)` and is reversed
   otherwise, independently of the other clusters. For ferromagnetic clusters (all spins
   equal) this sets the cluster to +1 with probability :math:`\sigma(2\beta\sum_{i\in C} h_i)`.

Both moves leave the joint distribution invariant, so the spin chain samples
:math:`e^{-\beta E}` exactly, for any graph, any couplings (any sign or size) and any fields.
Fields enter only the cluster flips, so strong fields slow the mixing but never bias it.
Frustrated models (spin glasses, antiferromagnets on non-bipartite graphs) are sampled
correctly too, but slowly: at low temperature their clusters percolate, so that flipping one
is nearly a global spin reversal (the known weakness of Fortuin–Kasteleyn cluster moves on
frustrated systems; on a random 10-spin glass at beta = 2 the tests see an ESS of about 1% of
the draws). Parallel tempering helps there.

A Boltzmann machine (units :math:`x \in \{0, 1\}`) is sampled through the exact mapping
:math:`s = 2x - 1` of :meth:`~physsamp.models.pairwise.BoltzmannMachine.spin_form`
(:math:`J = W/4`, :math:`h_i = b_i/2 + \sum_j W_{ij}/4`). An RBM is refused (its distribution
is over the visible units with the hidden ones summed out): use block Gibbs for it, or build
the joint ``BoltzmannMachine`` on the bipartite graph.

**Cluster labelling inside jit.** Connected components of the active bonds are found without
any host callback by parallel hooking and pointer jumping in the manner of Shiloach and
Vishkin [SV1982]_: every site holds a parent pointer with ``parent[i] <= i``; each round hooks
the root of one end of every active bond joining two different trees onto the smaller root
(a scatter-min over the edge list), then jumps pointers (``parent = parent[parent]``) until every
tree is a star. The loop (``lax.while_loop``) ends when every active bond joins sites with the
same root; a cluster's label is its smallest site index. Memory is O(sites + edges); the number
of rounds grows slowly (logarithmically in practice) with the cluster size: about 4 to 7 on
critical square lattices from 16² to 1024². On periodic lattices built with
:meth:`~physsamp.models.pairwise.Ising.lattice` the bonds and the roots of neighbours are
read with ``jnp.roll`` instead of gathers over the edge list. The per-bond random numbers
depend on the edge index only, so this path gives the same chain as the generic graph path.

The random number that decides a cluster's flip is indexed by the cluster's root, so it is one
independent draw per cluster.

References:
    .. [SW1987] R. H. Swendsen and J.-S. Wang, "Nonuniversal critical dynamics in Monte Carlo
       simulations", Phys. Rev. Lett. 58, 86 (1987).
    .. [ES1988] R. G. Edwards and A. D. Sokal, "Generalization of the Fortuin-Kasteleyn-
       Swendsen-Wang representation and Monte Carlo algorithm", Phys. Rev. D 38, 2009 (1988).
    .. [SV1982] Y. Shiloach and U. Vishkin, "An O(log n) parallel connectivity algorithm",
       J. Algorithms 3, 57 (1982).

Example:
    >>> import jax, physsamp as ps
    >>> from physsamp.kernels import swendsen_wang
    >>> model = ps.Ising.lattice((16, 16), beta=0.44)
    >>> state = swendsen_wang.init(model.uniform_configuration(jax.random.key(0)), model)
    >>> step = jax.jit(swendsen_wang.build_kernel())
    >>> state, info = step(jax.random.key(1), state, model)
    >>> state.position.shape
    (256,)
    >>> bool(1 <= info.num_clusters <= 256)
    True
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, Int8

from physsamp.kernels._random import check_generator, uniforms
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import BoltzmannMachine, PairwiseModel
from physsamp.models.rbm import RBM

__all__ = ["SwendsenWangInfo", "SwendsenWangState", "build_kernel", "init"]


class SwendsenWangState(NamedTuple):
    """``position``: the model's units (spins ±1 for an Ising model, {0, 1} for a Boltzmann
    machine)."""

    position: Int8[Array, " sites"]


class SwendsenWangInfo(NamedTuple):
    """What one step saw (the last sweep of the step when it makes several).

    ``num_clusters``: the number of clusters (isolated sites included);
    ``largest_cluster``: the number of sites in the largest cluster;
    ``labelling_iterations``: the global hooking rounds the cluster labelling needed;
    ``improved_m2``: :math:`\\sum_C |C|^2 / N^2`, the improved (cluster) estimator of
    :math:`\\langle m^2 \\rangle` — unbiased for a ferromagnet without fields only (otherwise it
    is just a cluster-size statistic).
    """

    num_clusters: Int[Array, ""]
    largest_cluster: Int[Array, ""]
    labelling_iterations: Int[Array, ""]
    improved_m2: Float[Array, ""]


def init(position: Array, model: EnergyModel) -> SwendsenWangState:
    """A state at ``position`` (a configuration of the model's sites)."""
    _check_model(model)
    return SwendsenWangState(jnp.asarray(position, dtype=jnp.int8))


def build_kernel(num_sweeps: int = 1, generator: str = "hash"):
    """A step that makes ``num_sweeps`` Swendsen–Wang sweeps: ``step(rng_key, state, model)``.

    ``generator`` picks the per-bond and per-cluster random numbers ("hash": fast
    counter-based, the default; "jax": ``jax.random.uniform``).
    """
    check_generator(generator)
    if num_sweeps < 1:
        raise ValueError(f"num_sweeps must be >= 1, got {num_sweeps}")

    def step(
        rng_key: jax.Array, state: SwendsenWangState, model: EnergyModel
    ) -> tuple[SwendsenWangState, SwendsenWangInfo]:
        _check_model(model)
        assert isinstance(model, PairwiseModel)
        couplings, field = _spin_couplings(model)
        spins = _to_spins(state.position, model)

        def sweep(key, current):
            return _sweep(key, current, model, couplings, field, generator)

        if num_sweeps == 1:
            spins, info = sweep(rng_key, spins)
        else:

            def body(carry, _):
                current, key = carry
                key, key_sweep = jax.random.split(key)
                current, info = sweep(key_sweep, current)
                return (current, key), info

            (spins, _), infos = jax.lax.scan(body, (spins, rng_key), length=num_sweeps)
            info = jax.tree.map(lambda leaf: leaf[-1], infos)
        return SwendsenWangState(_from_spins(spins, model)), info

    return step


# -- the model in spin form ---------------------------------------------------------------------
def _check_model(model: EnergyModel) -> None:
    if isinstance(model, RBM):
        raise TypeError(
            "Swendsen-Wang does not sample an RBM: its distribution is over the visible units "
            "with the hidden units summed out. Use block Gibbs (physsamp.infer.BlockGibbs), or "
            "build the joint BoltzmannMachine on the bipartite graph"
        )
    if not isinstance(model, PairwiseModel):
        raise TypeError(f"Swendsen-Wang does not know how to sample {type(model).__name__}")


def _spin_couplings(model: PairwiseModel) -> tuple[Float[Array, " edges"], Float[Array, " sites"]]:
    if isinstance(model, BoltzmannMachine):
        couplings, field, _ = model.spin_form()
        return couplings, field
    return model.edge_couplings, model.field


def _to_spins(position: Array, model: PairwiseModel) -> Int8[Array, " sites"]:
    if isinstance(model, BoltzmannMachine):
        return (2 * position - 1).astype(jnp.int8)
    return position.astype(jnp.int8)


def _from_spins(spins: Array, model: PairwiseModel) -> Int8[Array, " sites"]:
    if isinstance(model, BoltzmannMachine):
        return ((spins + 1) // 2).astype(jnp.int8)
    return spins


def _periodic_lattice(model: PairwiseModel) -> bool:
    """A lattice whose edge e is bond (d, x) with e = d * num_sites + x."""
    shape = model.lattice_shape
    return (
        shape is not None
        and not isinstance(model, BoltzmannMachine)
        and model.edges.shape[0] == len(shape) * model.num_sites
    )


# -- one sweep ---------------------------------------------------------------------------------
def _sweep(
    rng_key: jax.Array,
    spins: Int8[Array, " sites"],
    model: PairwiseModel,
    couplings: Float[Array, " edges"],
    field: Float[Array, " sites"],
    generator: str,
) -> tuple[Int8[Array, " sites"], SwendsenWangInfo]:
    key_bonds, key_flips = jax.random.split(rng_key)
    num_sites = model.num_sites
    if _periodic_lattice(model):
        labels, rounds = _lattice_clusters(key_bonds, spins, model, generator)
    else:
        active = _active_bonds(key_bonds, spins, model.edges, couplings, model.beta, generator)
        labels, rounds = _connected_components(model.edges, active, num_sites)

    # Each cluster keeps or reverses its configuration with one draw at its root.
    aligned_field = jax.ops.segment_sum(field * spins, labels, num_segments=num_sites)
    probability_keep = jax.nn.sigmoid(2 * model.beta * aligned_field)
    root_uniform = uniforms(key_flips, jnp.arange(num_sites, dtype=jnp.uint32), generator)
    keep = (root_uniform < probability_keep)[labels]
    new_spins = jnp.where(keep, spins, -spins).astype(jnp.int8)

    sizes = jax.ops.segment_sum(jnp.ones(num_sites, jnp.int32), labels, num_segments=num_sites)
    info = SwendsenWangInfo(
        num_clusters=(sizes > 0).sum(dtype=jnp.int32),
        largest_cluster=sizes.max(),
        labelling_iterations=rounds,
        improved_m2=jnp.square(sizes / jnp.float32(num_sites)).sum(),
    )
    return new_spins, info


def _bond_probability(couplings: Float[Array, "..."], beta: Array) -> Float[Array, "..."]:
    return -jnp.expm1(-2 * beta * jnp.abs(couplings))


def _active_bonds(
    rng_key: jax.Array,
    spins: Int8[Array, " sites"],
    edges: Int[Array, "edges 2"],
    couplings: Float[Array, " edges"],
    beta: Array,
    generator: str,
) -> Bool[Array, " edges"]:
    """Activate each satisfied bond with probability 1 - exp(-2 beta |J|)."""
    counters = jnp.arange(edges.shape[0], dtype=jnp.uint32)
    alignment = (spins[edges[:, 0]] * spins[edges[:, 1]]).astype(jnp.float32)
    satisfied = couplings * alignment > 0
    return satisfied & (uniforms(rng_key, counters, generator) < _bond_probability(couplings, beta))


# -- connected components ----------------------------------------------------------------------
def _connected_components(
    edges: Int[Array, "edges 2"], active: Bool[Array, " edges"], num_sites: int
) -> tuple[Int[Array, " sites"], Int[Array, ""]]:
    """Label the components of the graph of ``active`` edges by their smallest site index.

    Shiloach–Vishkin style: hook roots onto smaller roots over active edges that join two
    trees (scatter-min), then jump pointers until every tree is a star; repeat until no active
    edge joins two trees. Returns the labels and the number of hooking rounds.
    """
    heads, tails = edges[:, 0], edges[:, 1]

    def pending(state):
        _, head_root, tail_root, _ = state
        return jnp.any(active & (head_root != tail_root))

    def hook(state):
        parent, head_root, tail_root, rounds = state
        joins = active & (head_root != tail_root)
        # Only the joining edges write; the others aim past the end and are dropped.
        larger = jnp.where(joins, jnp.maximum(head_root, tail_root), num_sites)
        smaller = jnp.minimum(head_root, tail_root)
        parent = _jump_to_roots(parent.at[larger].min(smaller, mode="drop"))
        return parent, parent[heads], parent[tails], rounds + 1

    # Every site starts as its own root, so the roots of the ends are the ends themselves.
    start = (jnp.arange(num_sites, dtype=jnp.int32), heads, tails, jnp.int32(0))
    parent, _, _, rounds = jax.lax.while_loop(pending, hook, start)
    return parent, rounds


def _jump_to_roots(parent: Int[Array, " sites"]) -> Int[Array, " sites"]:
    """Pointer jumping until every site points at its root."""

    def not_flat(state):
        return state[1]

    def jump(state):
        current, _ = state
        grand = current[current]
        return grand, jnp.any(grand != current)

    parent, _ = jax.lax.while_loop(not_flat, jump, (parent, jnp.bool_(True)))
    return parent


def _lattice_clusters(
    rng_key: jax.Array, spins: Int8[Array, " sites"], model: PairwiseModel, generator: str
) -> tuple[Int[Array, " sites"], Int[Array, ""]]:
    """Bonds and labels on a periodic lattice, with rolls in place of gathers over the edges.

    The bond of edge e = (d, x) uses counter d * N + x, its edge index, so the chain equals the
    generic path's. Labelling: in each hooking round every site offers the smallest root among
    its bonded neighbours (rolls) to its own root (a scatter-min that touches only the sites
    that see a smaller root), then pointers jump to the roots."""
    assert model.lattice_shape is not None and model.bond_couplings is not None
    shape = model.lattice_shape
    num_sites = model.num_sites
    grid = spins.reshape(shape)
    couplings = model.bond_couplings
    counters = jnp.arange(len(shape) * num_sites, dtype=jnp.uint32).reshape(len(shape), *shape)
    draws = uniforms(rng_key, counters, generator)
    aligned = jnp.stack([grid * jnp.roll(grid, -1, axis=d) for d in range(len(shape))])
    satisfied = couplings * aligned.astype(jnp.float32) > 0
    forward = satisfied & (draws < _bond_probability(couplings, model.beta))
    backward = [jnp.roll(forward[d], 1, axis=d) for d in range(len(shape))]

    def neighbour_min(values: Int[Array, " sites"]) -> Int[Array, " sites"]:
        values = values.reshape(shape)
        smallest = values
        for d in range(len(shape)):
            ahead = jnp.where(forward[d], jnp.roll(values, -1, axis=d), values)
            behind = jnp.where(backward[d], jnp.roll(values, 1, axis=d), values)
            smallest = jnp.minimum(smallest, jnp.minimum(ahead, behind))
        return smallest.reshape(-1)

    sites = jnp.arange(num_sites, dtype=jnp.int32)

    def hook(state):
        roots, offered, _, rounds = state
        # A site points at the smaller root it is offered (same cluster) right away; a root
        # doing so is hooked. Other sites pass their offer on to their root.
        hooks = jnp.where((offered < roots) & (roots != sites), roots, num_sites)
        parent = jnp.minimum(roots, offered).at[hooks].min(offered, mode="drop")
        roots = _jump_to_roots(parent)
        offered = neighbour_min(roots)
        return roots, offered, jnp.any(offered < roots), rounds + 1

    offered = neighbour_min(sites)
    start = (sites, offered, jnp.any(offered < sites), jnp.int32(0))
    roots, _, _, rounds = jax.lax.while_loop(lambda state: state[2], hook, start)
    return roots, rounds
