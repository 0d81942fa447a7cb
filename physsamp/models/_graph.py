"""Conversion of graphs into the arrays the kernels need.

Everything here is numpy and runs once, at construction. No function loops in Python over
nodes or edges except where networkx hands its data over (a single pass through ``graph.edges``).
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.core import Tracer
from scipy.sparse import csgraph


def is_traced(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer: a parameter computed inside a transformed function
    (a model parameter that is a random variable). Its values cannot be checked or looked at;
    only the structure (graph, shapes) is built from concrete data."""
    return isinstance(value, Tracer)


def _index_of(nodes: Sequence[Hashable]) -> dict[Hashable, int]:
    return {node: position for position, node in enumerate(nodes)}


def edges_of_graph(graph: Any) -> tuple[list[Hashable], np.ndarray]:
    """The node list (in ``graph.nodes`` order) and an int64 ``[num_edges, 2]`` array of
    endpoints, aligned with ``graph.edges``."""
    nodes = list(graph.nodes)
    if not nodes:
        raise ValueError("the graph has no nodes")
    if graph.is_directed():
        raise ValueError("the graph is directed; physsamp models need an undirected graph")
    if graph.is_multigraph():
        raise ValueError("the graph is a multigraph; merge parallel edges into one coupling first")
    num_edges = graph.number_of_edges()
    if nodes == list(range(len(nodes))):
        flat = np.fromiter(
            (endpoint for edge in graph.edges() for endpoint in edge),
            dtype=np.int64,
            count=2 * num_edges,
        )
    else:
        index = _index_of(nodes)
        flat = np.fromiter(
            (index[endpoint] for edge in graph.edges() for endpoint in edge),
            dtype=np.int64,
            count=2 * num_edges,
        )
    edges = flat.reshape(num_edges, 2)
    loops = np.flatnonzero(edges[:, 0] == edges[:, 1])
    if loops.size:
        raise ValueError(
            f"the graph has a self-loop at node {nodes[edges[loops[0], 0]]!r}; "
            "a site cannot couple to itself (put a constant there into the field instead)"
        )
    return nodes, edges


def edge_values(graph: Any, value: Any, num_edges: int, what: str) -> Any:
    """Values per edge from a number, an array aligned with ``graph.edges``, a dict from edge
    ``(u, v)`` (either order) to value, or the name of an edge attribute."""
    if isinstance(value, str):
        items = [data.get(value) for _, _, data in graph.edges(data=True)]
        return _attribute_values(items, value, what, lambda i: _edge_name(graph, i), "an edge")
    if isinstance(value, Mapping):
        return _edge_dict_values(graph, value, what)
    return per_item(value, num_edges, what, "edges")


def node_values(graph: Any, value: Any, num_nodes: int, what: str) -> Any:
    """Values per node from a number, an array aligned with ``graph.nodes``, a dict from node
    to value, or the name of a node attribute."""
    if isinstance(value, str):
        items = [data.get(value) for _, data in graph.nodes(data=True)]
        return _attribute_values(items, value, what, lambda i: _node_name(graph, i), "a node")
    if isinstance(value, Mapping):
        nodes = list(graph.nodes)
        missing = next((node for node in nodes if node not in value), _NONE)
        if missing is not _NONE:
            raise ValueError(
                f"the {what} dict has no value for node {missing!r}; give one value per node "
                f"of the graph, or a number for all of them"
            )
        if len(value) != len(nodes):
            stranger = next(key for key in value if key not in graph)
            raise ValueError(
                f"the {what} dict has a value for {stranger!r}, not a node of the graph"
            )
        return _item_values([value[node] for node in nodes], what, lambda i: f"node {nodes[i]!r}")
    return per_item(value, num_nodes, what, "nodes")


#: a marker for "nothing found" where None could be a node label
_NONE = object()


def _edge_name(graph: Any, position: int) -> str:
    u, v = next(itertools.islice(graph.edges(), position, None))
    return f"edge ({u!r}, {v!r})"


def _node_name(graph: Any, position: int) -> str:
    return f"node {next(itertools.islice(graph.nodes, position, None))!r}"


def _edge_dict_values(graph: Any, mapping: Mapping, what: str) -> Any:
    """One value per edge of ``graph`` from a dict keyed by ``(u, v)`` in either order."""
    values, used = [], 0
    for u, v in graph.edges():
        forward, backward = (u, v) in mapping, (v, u) in mapping
        if not (forward or backward):
            raise ValueError(
                f"the {what} dict has no value for edge ({u!r}, {v!r}); give one value per edge "
                f"of the graph, keyed (u, v) in either order, or a number for all of them"
            )
        if forward and backward:
            raise ValueError(
                f"the {what} dict gives edge ({u!r}, {v!r}) twice, as ({u!r}, {v!r}) and "
                f"({v!r}, {u!r}); keep one"
            )
        values.append(mapping[(u, v)] if forward else mapping[(v, u)])
        used += 1
    if used != len(mapping):
        stranger = next(key for key in mapping if not _is_edge(graph, key))
        raise ValueError(f"the {what} dict has a value for {stranger!r}, not an edge of the graph")
    return _item_values(values, what, lambda i: _edge_name(graph, i))


def _is_edge(graph: Any, key: Any) -> bool:
    return isinstance(key, tuple) and len(key) == 2 and graph.has_edge(*key)


def _item_values(values: list, what: str, name_of: Callable[[int], str]) -> Any:
    """A list of numbers (or traced scalars), one per item, as one array; a message naming the
    item when one is not a finite real number."""
    if any(is_traced(item) for item in values):
        return jnp.stack([jnp.asarray(item, jnp.float32).reshape(()) for item in values])
    bad = next((i for i, item in enumerate(values) if not _is_real_number(item)), None)
    if bad is not None:
        raise TypeError(f"the {what} of {name_of(bad)} must be a number, got {values[bad]!r}")
    return _finite_floats(values, lambda i, v: f"the {what} of {name_of(i)} is not finite: {v}")


def _attribute_values(
    items: list, attribute: str, what: str, name_of: Callable[[int], str], kind: str
) -> np.ndarray:
    """The values of an attribute (``None`` where an item lacks it) as float64, with messages
    naming the item and the attribute."""
    missing = next((i for i, item in enumerate(items) if item is None), None)
    if missing is not None:
        hint = ""
        if _looks_numeric(attribute):
            hint = (
                f" (a string names {kind} attribute; for the number, pass {attribute}, "
                f"not {attribute!r})"
            )
        raise ValueError(f"{name_of(missing)} has no attribute {attribute!r} for the {what}{hint}")
    bad = next((i for i, item in enumerate(items) if not _is_real_number(item)), None)
    if bad is not None:
        raise TypeError(
            f"{name_of(bad)} has a non-numeric {attribute!r} attribute {items[bad]!r}; the "
            f"{what} must be a number"
        )
    return _finite_floats(
        items, lambda i, v: f"{name_of(i)} has a non-finite {attribute!r} attribute: {v}"
    )


def _finite_floats(items: list, message: Callable[[int, float], str]) -> np.ndarray:
    """Real numbers as float64; ``ValueError(message(index, value))`` at the first that is not
    finite."""
    array = np.array([float(item) for item in items], dtype=np.float64)
    not_finite = np.flatnonzero(~np.isfinite(array))
    if not_finite.size:
        i = int(not_finite[0])
        raise ValueError(message(i, array[i]))
    return array


def _is_real_number(value: Any) -> bool:
    """A real scalar: a Python or numpy number, or a 0-d numeric array; not a string, not a
    complex number."""
    if isinstance(value, numbers.Real):
        return True
    dtype = getattr(value, "dtype", None)
    return dtype is not None and np.ndim(value) == 0 and np.dtype(dtype).kind in "biuf"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def per_item(value: Any, count: int, what: str, items: str) -> Any:
    """Broadcast a scalar, or check an array, to one float64 value per item (a traced value
    stays traced, as float32)."""
    if is_traced(value):
        traced = jnp.asarray(value, dtype=jnp.float32)
        if traced.ndim == 0:
            return jnp.broadcast_to(traced, (count,))
        if traced.shape != (count,):
            raise ValueError(
                f"the {what} has shape {traced.shape}, but the model has {count} {items}; "
                f"give a number or an array of shape ({count},)"
            )
        return traced
    array = float_array(value, what)
    if array.ndim == 0:
        array = np.full(count, float(array))
    elif array.shape != (count,):
        raise ValueError(
            f"the {what} has shape {array.shape}, but the model has {count} {items}; "
            f"give a number or an array of shape ({count},)"
        )
    check_finite(array, what)
    return array


def float_array(value: Any, what: str) -> np.ndarray:
    """``value`` as float64, with a message naming ``what`` when it is not numeric (strings
    are refused even when they spell a number: ``"0.5"`` is more likely a mistake)."""
    if isinstance(value, Mapping):
        raise TypeError(
            f"the {what} is a dict, which only a model built from a networkx graph takes (keyed "
            "by node or by edge (u, v), e.g. ps.Ising(graph, coupling={(u, v): value, ...})); "
            "here give a number or an array"
        )
    try:
        array = np.asarray(value)
        if array.dtype.kind in "USc" or (
            array.dtype.kind == "O" and any(not _is_real_number(item) for item in array.flat)
        ):
            raise TypeError(f"not real numbers: {array.dtype}")
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"the {what} must be numeric, got {_short(value)}") from error


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_finite(array: Any, what: str) -> None:
    if is_traced(array):
        return
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        position = tuple(int(i) for i in bad[0])
        where = position[0] if len(position) == 1 else position
        raise ValueError(f"the {what} is not finite at index {where}: {array[position]}")


def neighbour_lists(
    num_sites: int, edges: np.ndarray, couplings: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Padded neighbour lists (ELL format): ``neighbors[i, k]`` is the k-th neighbour of site i
    and ``neighbor_couplings[i, k]`` its coupling. Rows are padded with the site itself and a
    zero coupling, which adds nothing to a local field.

    The neighbours of a site appear in the order of the edge list, and an edge (i, j) lists j
    in row i before anything from later edges. Lattices build their edge lists so that this
    order matches the stencil's order of summation.
    """
    heads = np.concatenate([edges[:, 0], edges[:, 1]])
    tails = np.concatenate([edges[:, 1], edges[:, 0]])
    weights = np.concatenate([couplings, couplings])
    # Interleave the two directions so that edge e contributes to both rows at rank e.
    rank = np.concatenate([np.arange(len(edges)), np.arange(len(edges))])
    order = np.lexsort((rank, heads))
    heads, tails, weights = heads[order], tails[order], weights[order]
    degree = np.bincount(heads, minlength=num_sites)
    width = max(int(degree.max(initial=0)), 1)
    start = np.concatenate([[0], np.cumsum(degree)[:-1]])
    slot = np.arange(len(heads)) - start[heads]
    neighbors = np.repeat(np.arange(num_sites)[:, None], width, axis=1)
    neighbor_couplings = np.zeros((num_sites, width))
    neighbors[heads, slot] = tails
    neighbor_couplings[heads, slot] = weights
    return neighbors, neighbor_couplings


def neighbour_slots(num_sites: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour lists of :func:`neighbour_lists` and, per slot, the index of the edge it
    comes from (-1 for padding): ``couplings[slots]`` then fills the lists for couplings known
    only inside a transformed function."""
    neighbors, edge_plus_one = neighbour_lists(num_sites, edges, np.arange(1.0, len(edges) + 1))
    return neighbors, edge_plus_one.astype(np.int64) - 1


def gather_slots(values: Any, slots: np.ndarray) -> Any:
    """``values[slots]`` with zero where ``slots`` is -1 (in jax when ``values`` is traced)."""
    if is_traced(values):
        return jnp.where(slots >= 0, jnp.asarray(values)[np.maximum(slots, 0)], 0.0)
    return np.where(slots >= 0, np.asarray(values)[np.maximum(slots, 0)], 0.0)


def _adjacency(num_sites: int, edges: np.ndarray) -> sp.csr_array:
    ones = np.ones(len(edges), dtype=np.int8)
    matrix = sp.coo_array((ones, (edges[:, 0], edges[:, 1])), shape=(num_sites, num_sites))
    return (matrix + matrix.T).tocsr()


def two_coloring(num_sites: int, edges: np.ndarray) -> np.ndarray | None:
    """The parity of the breadth-first depth, if that is a proper 2-colouring (the graph is
    bipartite); ``None`` otherwise."""
    if len(edges) == 0:
        return np.zeros(num_sites, dtype=np.int64)
    _, component = csgraph.connected_components(_adjacency(num_sites, edges), directed=False)
    roots = np.unique(component, return_index=True)[1]
    # A virtual root joined to one node of every component makes one breadth-first search
    # cover the whole graph.
    virtual = num_sites
    joined = np.concatenate([edges, np.stack([np.full(len(roots), virtual), roots], 1)])
    _, predecessor = csgraph.breadth_first_order(
        _adjacency(num_sites + 1, joined), virtual, directed=False, return_predecessors=True
    )
    ancestor = np.where(predecessor < 0, virtual, predecessor)
    depth = (np.arange(num_sites + 1) != virtual).astype(np.int64)
    while np.any(ancestor != virtual):  # pointer jumping: log(depth) rounds
        depth = depth + depth[ancestor]
        ancestor = ancestor[ancestor]
    colors = (depth[:num_sites] - 1) % 2  # the first site of each component gets colour 0
    if np.any(colors[edges[:, 0]] == colors[edges[:, 1]]):
        return None
    return colors


def greedy_coloring(num_sites: int, edges: np.ndarray, seed: int = 0) -> np.ndarray:
    """A proper colouring with at most (max degree + 1) colours, by the parallel greedy
    algorithm of Jones & Plassmann (SIAM J. Sci. Comput. 14, 654 (1993)): in every round the
    uncoloured sites whose random priority beats all uncoloured neighbours take the smallest
    colour their neighbours do not use."""
    neighbors, weights = neighbour_lists(num_sites, edges, np.ones(len(edges)))
    real = weights != 0
    priority = np.random.default_rng(seed).permutation(num_sites)
    colors = np.full(num_sites, -1, dtype=np.int64)
    while np.any(colors < 0):
        uncolored = colors < 0
        rival = real & uncolored[neighbors] & (priority[neighbors] > priority[:, None])
        chosen = np.flatnonzero(uncolored & ~rival.any(axis=1))
        used = np.where(real[chosen], colors[neighbors[chosen]], -1)
        free = np.ones((len(chosen), neighbors.shape[1] + 2), dtype=bool)
        np.put_along_axis(free, np.where(used < 0, free.shape[1] - 1, used), False, axis=1)
        colors[chosen] = np.argmax(free, axis=1)
    return colors


def check_coloring(colors: np.ndarray, edges: np.ndarray, nodes: Sequence[Hashable]) -> None:
    """Raise if any edge joins two sites of the same colour."""
    clash = np.flatnonzero(colors[edges[:, 0]] == colors[edges[:, 1]])
    if clash.size:
        i, j = edges[clash[0]]
        raise ValueError(
            f"the colouring puts coupled sites {nodes[i]!r} and {nodes[j]!r} in the same block "
            f"(colour {colors[i]}); sites updated together must not interact"
        )


def blocks_of(colors: np.ndarray) -> tuple[np.ndarray, ...]:
    """The sites of each colour, in increasing site order."""
    order = np.argsort(colors, kind="stable")
    counts = np.bincount(colors)
    return tuple(np.split(order, np.cumsum(counts)[:-1]))


def lattice_bonds(shape: tuple[int, ...], periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a hypercubic lattice, sites numbered in C order.

    Returns ``edges [num_edges, 2]`` and ``bond [num_edges, 2]`` where ``bond[e] = (d, x)``
    says edge e joins site x to its neighbour in the +d direction. The edges are ordered by
    direction, then by site, so that neighbour lists built from them add the terms of a local
    field in the same order as the stencil: +e_0, -e_0, +e_1, -e_1, ...
    """
    num_sites = int(np.prod(shape))
    site = np.arange(num_sites).reshape(shape)
    edges, bonds = [], []
    for axis in range(len(shape)):
        forward = np.roll(site, -1, axis=axis)
        keep = np.ones(shape, dtype=bool)
        if not periodic:
            keep[(slice(None),) * axis + (-1,)] = False
        edges.append(np.stack([site[keep], forward[keep]], axis=1))
        bonds.append(np.stack([np.full(keep.sum(), axis), site[keep]], axis=1))
    return np.concatenate(edges), np.concatenate(bonds)


def lattice_cut_bonds(shape: tuple[int, ...], periodic: bool) -> np.ndarray:
    """``cut[d, x]``: the bond from x to x + e_d crosses an open boundary (never when
    periodic)."""
    cut = np.zeros((len(shape), *shape), dtype=bool)
    if not periodic:
        for d in range(len(shape)):
            cut[(d,) + (slice(None),) * d + (-1,)] = True
    return cut


def lattice_neighbour_lists(
    shape: tuple[int, ...], bond_couplings: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour lists of a hypercubic lattice in stencil order (+e_0, -e_0, +e_1, ...).

    ``bond_couplings[d, x]`` couples site x to its +d neighbour (zero for a bond cut by an open
    boundary; such a slot then holds the site itself, which adds exactly zero, as the stencil
    does).
    """
    num_sites = int(np.prod(shape))
    site = np.arange(num_sites).reshape(shape)
    neighbors, couplings = [], []
    for axis in range(len(shape)):
        forward = bond_couplings[axis]
        backward = np.roll(forward, 1, axis=axis)
        for step, coupling in ((-1, forward), (1, backward)):
            neighbour = np.roll(site, step, axis=axis)
            neighbors.append(np.where(coupling != 0, neighbour, site).ravel())
            couplings.append(coupling.ravel())
    return np.stack(neighbors, axis=1), np.stack(couplings, axis=1)
