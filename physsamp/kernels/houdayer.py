r"""The Houdayer cluster move between two replicas of one ±1-spin model, inside ``jit``.

Two configurations :math:`a, b` of the same pairwise model with spins :math:`\pm 1` and energy
:math:`E(s) = -\sum_{(ij)} J_{ij} s_i s_j - \sum_i h_i s_i` define the local overlap
:math:`q_i = a_i b_i`. Houdayer's move [H2001]_:

1. pick a site uniformly among those where the replicas disagree (:math:`q_i = -1`); when they
   agree everywhere there is nothing to do;
2. grow its cluster: the connected component of that site in the interaction graph restricted
   to the sites with :math:`q = -1`;
3. flip the cluster in both replicas. On the cluster :math:`a_i = -b_i`, so this is the same as
   exchanging the cluster between the two replicas.

The sum of the two energies is unchanged, fields included: inside the cluster each product
:math:`a_i a_j` is kept; on a bond from a cluster site :math:`i` to a site :math:`j` outside it,
:math:`q_j = +1` (else :math:`j` would be in the cluster), so
:math:`J_{ij} (a_i a_j + b_i b_j) = J_{ij} a_j (a_i + b_i) = 0` before and after; and each field
term :math:`h_i (a_i + b_i)` of a cluster site is zero before and after. The overlaps
:math:`q` are unchanged too, so the reverse move picks the same cluster with the same
probability (:math:`|C| / n_-`, with :math:`n_-` the number of sites with :math:`q = -1`), and
the move is its own inverse. It is therefore always accepted and leaves :math:`p(a)\, p(b)`
invariant at any common inverse temperature (which the move never reads). It does not change
the overlaps, so it is not ergodic on its own: alternate it with a kernel that is (block Gibbs
or Swendsen–Wang on each replica), typically between neighbouring replicas of a parallel
tempering ladder that share a temperature, or between two ladders.

**The interaction graph** is the model's edge list (``model.edges``) with its zero couplings
left out: a zero-coupled edge does not join clusters, so the move depends on the distribution
only, not on how the graph was written down. Houdayer used the bonds of a lattice; on a
lattice built with :meth:`~physsamp.models.pairwise.Ising.lattice` these are its edges
(an open lattice has no edges across its boundary). Keeping zero-coupled edges would also be
exact (their terms vanish in both energies), with larger clusters.

**Cluster labelling** reuses the Swendsen–Wang kernel's connected components (parallel hooking
and pointer jumping over the edge list, :mod:`physsamp.kernels.swendsen_wang`) with the edges
joining two disagreeing sites as the active ones; the cluster is the component of the chosen
site. Shapes are static, so the move works under ``jax.jit`` and ``jax.vmap``.

One call moves one pair of configurations ``[sites]``; for many pairs (the slots of a
parallel-tempering ladder, several independent runs) ``jax.vmap`` it over keys and positions
with the model shared (``in_axes=(0, 0, 0, None)``), or call :func:`houdayer_moves`, which
makes the same moves faster. Leading batch axes are refused rather than broadcast.

References:
    .. [H2001] J. Houdayer, "A cluster Monte Carlo algorithm for 2-dimensional spin glasses",
       Eur. Phys. J. B 22, 479 (2001).

Example:
    >>> import jax, physsamp as ps
    >>> from physsamp.kernels.houdayer import houdayer_move
    >>> model = ps.Ising.lattice((8, 8), coupling=-1.0, field=0.5, beta=1.0)
    >>> key_a, key_b, key_move = jax.random.split(jax.random.key(0), 3)
    >>> a = model.uniform_configuration(key_a)
    >>> b = model.uniform_configuration(key_b)
    >>> new_a, new_b, info = jax.jit(houdayer_move)(key_move, a, b, model)
    >>> before = model.energy(a) + model.energy(b)
    >>> after = model.energy(new_a) + model.energy(new_b)
    >>> bool(abs(after - before) < 1e-4)
    True
    >>> bool(((new_a != a).sum() == info.cluster_size) & (a * b == new_a * new_b).all())
    True
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, Int8

from physsamp.kernels.swendsen_wang import _connected_components
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import BoltzmannMachine, PairwiseModel

__all__ = ["HoudayerInfo", "houdayer_move", "houdayer_moves"]


class HoudayerInfo(NamedTuple):
    """What one move did.

    ``cluster_size``: the number of sites flipped in each replica (0 when the replicas agree
    everywhere); ``num_disagreeing``: the number of sites where the replicas differ
    (:math:`q_i = -1`), the same before and after the move.
    """

    cluster_size: Int[Array, ""]
    num_disagreeing: Int[Array, ""]


def houdayer_move(
    rng_key: jax.Array,
    positions_a: Int8[Array, " sites"],
    positions_b: Int8[Array, " sites"],
    model: EnergyModel,
) -> tuple[Int8[Array, " sites"], Int8[Array, " sites"], HoudayerInfo]:
    """One Houdayer move between configurations ``positions_a`` and ``positions_b`` (spins
    ±1) of ``model``: returns ``(new_a, new_b, info)``.

    The model must be a pairwise ±1-spin model (:class:`~physsamp.models.pairwise.Ising`,
    spin glasses, Hopfield); a model with {0, 1} units or an RBM is refused when traced.
    One pair per call: ``jax.vmap`` it for a batch of pairs.

    Example:
        >>> import jax, jax.numpy as jnp, networkx as nx, physsamp as ps
        >>> from physsamp.kernels.houdayer import houdayer_move
        >>> model = ps.Ising(nx.path_graph(4), coupling=[1.0, -1.0, 0.5], beta=1.0)
        >>> a = jnp.array([1, 1, 1, 1], jnp.int8)
        >>> b = jnp.array([-1, -1, 1, -1], jnp.int8)  # disagrees on sites 0, 1 and 3
        >>> new_a, new_b, info = jax.jit(houdayer_move)(jax.random.key(0), a, b, model)
        >>> int(info.num_disagreeing), int(info.cluster_size) in (1, 2)
        (3, True)
        >>> jnp.stack([new_a, new_b]).tolist() in (
        ...     [[-1, -1, 1, 1], [1, 1, 1, -1]],  # the cluster {0, 1} exchanged
        ...     [[1, 1, 1, -1], [-1, -1, 1, 1]],  # the cluster {3} exchanged
        ... )
        True
    """
    _check_model(model)
    assert isinstance(model, PairwiseModel)
    num_sites = model.num_sites
    for name, positions in (("positions_a", positions_a), ("positions_b", positions_b)):
        if jnp.shape(positions) != (num_sites,):
            raise ValueError(
                f"{name} has shape {jnp.shape(positions)} but one configuration of this model "
                f"has shape ({num_sites},); for a batch of pairs, jax.vmap the move "
                "(in_axes=(0, 0, 0, None))"
            )
    a = jnp.asarray(positions_a, dtype=jnp.int8)
    b = jnp.asarray(positions_b, dtype=jnp.int8)

    disagree = a != b
    num_disagreeing = disagree.sum(dtype=jnp.int32)
    # The chosen site: the rank-th disagreeing site, rank uniform in [0, num_disagreeing).
    rank = jax.random.randint(rng_key, (), 0, jnp.maximum(num_disagreeing, 1))
    seed_site = jnp.argmax(jnp.cumsum(disagree, dtype=jnp.int32) > rank)

    edges = model.edges
    active = disagree[edges[:, 0]] & disagree[edges[:, 1]] & (model.edge_couplings != 0)
    labels, _ = _connected_components(edges, active, num_sites)
    cluster = (labels == labels[seed_site]) & (num_disagreeing > 0)

    new_a = jnp.where(cluster, b, a)
    new_b = jnp.where(cluster, a, b)
    info = HoudayerInfo(cluster_size=cluster.sum(dtype=jnp.int32), num_disagreeing=num_disagreeing)
    return new_a, new_b, info


def _check_model(model: EnergyModel) -> None:
    if isinstance(model, BoltzmannMachine):
        raise TypeError(
            "the Houdayer move needs spins -1/+1 and a BoltzmannMachine has units 0/1, whose "
            "flips do not conserve the energy sum. Its equivalent Ising model (s = 2x - 1) has "
            "couplings and fields from model.spin_form(): build ps.Ising on the same edges with "
            "them, move the spin configurations 2x - 1, and map back with (s + 1) // 2"
        )
    if not isinstance(model, PairwiseModel) or model.unit_values != (-1, 1):
        raise TypeError(
            f"the Houdayer move needs a pairwise model with spins -1/+1 (Ising, spin glasses, "
            f"Hopfield), got {type(model).__name__}; for an RBM, build the joint "
            "BoltzmannMachine on the bipartite graph and use its spin form"
        )


def houdayer_moves(
    rng_key: jax.Array,
    positions_a: Int8[Array, "pairs sites"],
    positions_b: Int8[Array, "pairs sites"],
    model: EnergyModel,
) -> tuple[Int8[Array, "pairs sites"], Int8[Array, "pairs sites"], HoudayerInfo]:
    """One Houdayer move for each of several pairs ``positions_a[p], positions_b[p]`` of the
    same model (the slots of a parallel-tempering ladder): the very moves of
    ``jax.vmap(houdayer_move, (0, 0, 0, None))(jax.random.split(rng_key, P), ...)``, made
    faster by labelling the clusters of every pair at once, on the disjoint union of the pairs'
    graphs (a vmapped labelling runs every pair for as many rounds as the slowest needs), and
    by drawing the seed sites with a logarithmic-depth prefix sum.

    Example:
        >>> import jax, physsamp as ps
        >>> from physsamp.kernels.houdayer import houdayer_move, houdayer_moves
        >>> model = ps.Ising.lattice((6, 6), coupling=-1.0, beta=1.0)
        >>> a = model.uniform_configuration(jax.random.key(0), (4,))
        >>> b = model.uniform_configuration(jax.random.key(1), (4,))
        >>> together = jax.jit(houdayer_moves)(jax.random.key(2), a, b, model)
        >>> keys = jax.random.split(jax.random.key(2), 4)
        >>> one_by_one = jax.jit(jax.vmap(houdayer_move, (0, 0, 0, None)))(keys, a, b, model)
        >>> all(bool((x == y).all()) for x, y in zip(jax.tree.leaves(together),
        ...                                              jax.tree.leaves(one_by_one)))
        True
    """
    _check_model(model)
    assert isinstance(model, PairwiseModel)
    num_sites = model.num_sites
    a = jnp.asarray(positions_a, dtype=jnp.int8)
    b = jnp.asarray(positions_b, dtype=jnp.int8)
    if a.ndim != 2 or a.shape != b.shape or a.shape[1] != num_sites:
        raise ValueError(
            f"positions must both be [pairs, {num_sites}], got {a.shape} and {b.shape}"
        )
    num_pairs = a.shape[0]
    disagree = a != b
    num_disagreeing = disagree.sum(axis=1, dtype=jnp.int32)
    keys = jax.random.split(rng_key, num_pairs)
    rank = jax.vmap(lambda key, n: jax.random.randint(key, (), 0, jnp.maximum(n, 1)))(
        keys, num_disagreeing
    )
    prefix = jax.lax.associative_scan(jnp.add, disagree.astype(jnp.int32), axis=1)
    seed_site = jnp.argmax(prefix > rank[:, None], axis=1)

    offsets = num_sites * jnp.arange(num_pairs)[:, None, None]
    edges = (model.edges[None] + offsets).reshape(-1, 2)
    nonzero = jnp.tile(model.edge_couplings != 0, num_pairs)
    flat = disagree.reshape(-1)
    active = flat[edges[:, 0]] & flat[edges[:, 1]] & nonzero
    labels, _ = _connected_components(edges, active, num_pairs * num_sites)
    labels = labels.reshape(num_pairs, num_sites)
    chosen = jnp.take_along_axis(labels, seed_site[:, None], axis=1)
    cluster = (labels == chosen) & (num_disagreeing > 0)[:, None]

    new_a = jnp.where(cluster, b, a)
    new_b = jnp.where(cluster, a, b)
    info = HoudayerInfo(cluster_size=cluster.sum(axis=1, dtype=jnp.int32),
                        num_disagreeing=num_disagreeing)  # fmt: skip
    return new_a, new_b, info
