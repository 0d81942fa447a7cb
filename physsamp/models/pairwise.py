"""Models with pairwise interactions on a graph: Ising, Boltzmann machine, Hopfield."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Int8

from physsamp.models import _graph
from physsamp.models.base import (
    EnergyModel,
    NodeLabels,
    binary_units,
    check_beta,
    matmul,
    spins,
)


class PairwiseModel(EnergyModel):
    r"""Units :math:`x_i` on the sites of a graph with energy

    .. math:: E(x) = -\sum_{(ij)} J_{ij} x_i x_j - \sum_i h_i x_i .

    The graph is compiled once into arrays: the edge list with its couplings (for energies and
    cluster moves), padded neighbour lists (for local fields) and a verified colouring into
    blocks of mutually non-interacting sites (for block Gibbs). A hypercubic lattice also keeps
    its couplings on the lattice (``bond_couplings[d, x]`` couples x to x + e_d) for stencil
    updates.
    """

    pytree_data_fields = (
        "edges",
        "edge_couplings",
        "neighbors",
        "neighbor_couplings",
        "field",
        "beta",
        "blocks",
        "bond_couplings",
        "uniform_coupling",
        "uniform_field",
    )
    pytree_aux_fields = ("lattice_shape",)

    edges: Int[Array, "edges 2"]
    edge_couplings: Float[Array, " edges"]
    neighbors: Int[Array, "sites degree"]
    neighbor_couplings: Float[Array, "sites degree"]
    field: Float[Array, " sites"]
    blocks: tuple[Int[Array, " block"], ...]
    bond_couplings: Float[Array, "dims ..."] | None
    #: the one coupling of a periodic lattice with even extents and equal bonds, else None
    uniform_coupling: Float[Array, ""] | None
    #: the one field of such a lattice when every site has the same, else None
    uniform_field: Float[Array, ""] | None
    lattice_shape: tuple[int, ...] | None

    def _build(
        self,
        nodes: Sequence[Any],
        edges: np.ndarray,
        couplings: np.ndarray,
        field: np.ndarray,
        beta: Any,
        coloring: Any = None,
        lattice: tuple[tuple[int, ...], Any, bool] | None = None,
        validate_args: bool | None = None,
        uniform_coupling: Any = None,
        uniform_field: Any = None,
    ) -> None:
        """Compile the graph into arrays. ``couplings`` and ``field`` may be traced (a model
        built inside a NumPyro model whose parameters are random variables): the structure
        comes from the concrete ``edges``, the values stay traced. ``uniform_coupling`` (a
        lattice's one coupling, given as a number) and ``uniform_field`` serve lattices whose
        values are traced and so cannot be inspected."""
        num_sites = len(nodes)
        _graph.check_finite(couplings, "coupling")
        _graph.check_finite(field, "field")
        self.node_labels = NodeLabels(nodes)
        self.edges = jnp.asarray(edges, dtype=jnp.int32)
        self.edge_couplings = jnp.asarray(couplings, dtype=jnp.float32)
        self.field = jnp.asarray(field, dtype=jnp.float32)
        self.beta = check_beta(beta)
        self.lattice_shape = None
        self.bond_couplings = None
        self.uniform_coupling = None
        self.uniform_field = None
        if lattice is not None:
            shape, bond_couplings, bipartite = lattice
            if _graph.is_traced(bond_couplings):
                cut = _graph.lattice_cut_bonds(shape, periodic=len(edges) == len(shape) * num_sites)
                bond_index = np.arange(1.0, bond_couplings.size + 1).reshape(bond_couplings.shape)
                neighbors, slots = _graph.lattice_neighbour_lists(
                    shape, np.where(cut, 0, bond_index)
                )
                neighbor_couplings = _graph.gather_slots(
                    bond_couplings.reshape(-1), slots.astype(np.int64) - 1
                )
            else:
                neighbors, neighbor_couplings = _graph.lattice_neighbour_lists(
                    shape, bond_couplings
                )
            if bipartite:
                # The checkerboard stencil needs the two parity classes as its blocks.
                self.lattice_shape = shape
                self.bond_couplings = jnp.asarray(bond_couplings, dtype=jnp.float32)
                coloring = np.indices(shape).sum(axis=0).ravel() % 2
                wraps = len(edges) == len(shape) * num_sites  # periodic: every bond present
                if not wraps:
                    uniform_coupling = None
                elif not _graph.is_traced(bond_couplings):
                    first = bond_couplings.flat[0]
                    uniform_coupling = first if np.all(bond_couplings == first) else None
                if uniform_coupling is not None:
                    self.uniform_coupling = jnp.asarray(uniform_coupling, jnp.float32)
                    if not _graph.is_traced(field):
                        uniform_field = field[0] if np.all(field == field[0]) else None
                    if uniform_field is not None:
                        self.uniform_field = jnp.asarray(uniform_field, jnp.float32)
        elif _graph.is_traced(couplings):
            neighbors, slots = _graph.neighbour_slots(num_sites, edges)
            neighbor_couplings = _graph.gather_slots(couplings, slots)
        else:
            neighbors, neighbor_couplings = _graph.neighbour_lists(num_sites, edges, couplings)
        self.neighbors = jnp.asarray(neighbors, dtype=jnp.int32)
        self.neighbor_couplings = jnp.asarray(neighbor_couplings, dtype=jnp.float32)
        colors = self._colors(nodes, edges, coloring)
        self.blocks = tuple(jnp.asarray(b, dtype=jnp.int32) for b in _graph.blocks_of(colors))
        EnergyModel.__init__(self, num_sites, validate_args=validate_args)

    @staticmethod
    def _colors(nodes: Sequence[Any], edges: np.ndarray, coloring: Any) -> np.ndarray:
        num_sites = len(nodes)
        if coloring is None:
            colors = _graph.two_coloring(num_sites, edges)
            if colors is None:
                colors = _graph.greedy_coloring(num_sites, edges)
        elif isinstance(coloring, dict):
            missing = [node for node in nodes if node not in coloring]
            if missing:
                raise ValueError(f"the colouring gives no colour to node {missing[0]!r}")
            colors = np.array([coloring[node] for node in nodes])
        else:
            colors = np.asarray(coloring)
            if colors.shape != (num_sites,):
                raise ValueError(
                    f"the colouring has shape {colors.shape}; give one colour per site "
                    f"({num_sites},) or a dict from node to colour"
                )
        if not np.issubdtype(colors.dtype, np.integer) or colors.min() < 0:
            raise ValueError("colours must be non-negative integers")
        _, colors = np.unique(colors, return_inverse=True)
        _graph.check_coloring(colors, edges, nodes)
        return colors

    parameter_fields: ClassVar[tuple[str, ...]] = ("beta", "edge_couplings", "field")

    @classmethod
    def random(
        cls,
        graph: Any,
        rng_key: jax.Array,
        scale: float = 0.01,
        field: Any = 0.0,
        beta: Any = 1.0,
    ):
        r"""A starting point for training: one coupling per edge drawn from
        :math:`N(0, \text{scale}^2)`, the given field (bias). ``graph`` is a networkx graph or
        a number of units (the complete graph: every pair coupled).

        Example:
            >>> import jax, physsamp as ps
            >>> ps.BoltzmannMachine.random(5, jax.random.key(0)).edges.shape  # 5 * 4 / 2 pairs
            (10, 2)
        """
        if isinstance(graph, int | np.integer):
            if graph < 1:
                raise ValueError(f"the number of units must be positive, got {graph}")
            graph = nx.complete_graph(int(graph))
        num_edges = graph.number_of_edges()
        couplings = scale * np.asarray(jax.random.normal(rng_key, (num_edges,)), np.float64)
        return cls(graph, couplings, field, beta)

    def tilted(self, log_field: ArrayLike):
        scale = self._tilt_scale()
        other = copy.copy(self)
        other.beta = scale
        other.field = self.field + jnp.asarray(log_field, jnp.float32) / scale
        other.uniform_field = None
        return other

    # -- physics -------------------------------------------------------------------------------
    @property
    def num_colors(self) -> int:
        return len(self.blocks)

    def unchecked_energy(self, x: ArrayLike) -> Float[Array, "..."]:
        """The energy of configurations ``x [..., num_sites]`` (stencil on lattices), without
        the support test of :meth:`~physsamp.models.base.EnergyModel.energy`."""
        values = jnp.asarray(x).astype(jnp.float32)
        if self.lattice_shape is not None:
            return self._stencil_energy(values)
        return self._edge_energy(values)

    def _edge_energy(self, values: Float[Array, "... sites"]) -> Float[Array, "..."]:
        pairs = values[..., self.edges[:, 0]] * values[..., self.edges[:, 1]]
        return -matmul(pairs, self.edge_couplings) - matmul(values, self.field)

    def _stencil_energy(self, values: Float[Array, "... sites"]) -> Float[Array, "..."]:
        assert self.lattice_shape is not None and self.bond_couplings is not None
        batch = values.shape[:-1]
        grid = values.reshape(*batch, *self.lattice_shape)
        axes = tuple(range(len(batch), grid.ndim))
        interaction = sum(
            (self.bond_couplings[d] * grid * jnp.roll(grid, -1, axis=axis)).sum(axis=axes)
            for d, axis in enumerate(axes)
        )
        return -interaction - matmul(values, self.field)

    def local_field(self, x: ArrayLike, sites: Int[Array, " block"] | None = None):
        r"""The local field :math:`h_i + \sum_j J_{ij} x_j` at ``sites`` (all by default)."""
        values = jnp.asarray(x).astype(jnp.float32)
        neighbors, couplings, field = self.neighbors, self.neighbor_couplings, self.field
        if sites is not None:
            neighbors, couplings, field = neighbors[sites], couplings[sites], field[sites]
        terms = couplings * values[..., neighbors]
        return ordered_sum(terms) + field

    def coupling_matrix(self) -> Float[Array, "sites sites"]:
        """The dense symmetric coupling matrix (small models only)."""
        matrix = jnp.zeros((self.num_sites, self.num_sites), jnp.float32)
        matrix = matrix.at[self.edges[:, 0], self.edges[:, 1]].add(self.edge_couplings)
        return matrix + matrix.T

    def as_lattice(self, x: ArrayLike) -> Array:
        """Reshape configurations ``[..., num_sites]`` of a lattice model to ``[..., *shape]``."""
        if self.lattice_shape is None:
            raise ValueError("this model was not built with .lattice(...)")
        values = jnp.asarray(x)
        return values.reshape(*values.shape[:-1], *self.lattice_shape)


def ordered_sum(terms: Float[Array, "... degree"] | list[Array]) -> Float[Array, "..."]:
    """Sum over the last axis (or a list of arrays) strictly left to right for short rows, so
    that a lattice's neighbour-list path and its stencil path round identically."""
    if isinstance(terms, list):
        parts = terms
    elif terms.shape[-1] > 16:
        return terms.sum(axis=-1)
    else:
        parts = [terms[..., k] for k in range(terms.shape[-1])]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _lattice(shape: Sequence[int], coupling: Any, periodic: bool) -> tuple:
    shape = tuple(int(extent) for extent in shape)
    if not shape or any(extent < 1 for extent in shape):
        raise ValueError(f"a lattice needs positive extents, got shape {shape}")
    if periodic and any(extent < 3 for extent in shape):
        raise ValueError(
            f"a periodic lattice needs every extent >= 3 (got {shape}): an extent of 1 or 2 "
            "would couple a site to itself or twice to one neighbour"
        )
    dims = len(shape)
    traced = _graph.is_traced(coupling)
    xp = jnp if traced else np
    couplings = (
        jnp.asarray(coupling, jnp.float32) if traced else _graph.float_array(coupling, "coupling")
    )
    if couplings.ndim == 0:
        couplings = xp.broadcast_to(couplings, (dims, *shape))
    elif couplings.shape == (dims,):
        couplings = xp.broadcast_to(couplings.reshape(dims, *([1] * dims)), (dims, *shape))
    elif couplings.shape != (dims, *shape):
        raise ValueError(
            f"lattice coupling has shape {couplings.shape}; give a number, one per direction "
            f"({dims},), or one per bond {(dims, *shape)} (coupling[d, x] joins x and x + e_d)"
        )
    _graph.check_finite(couplings, "coupling")
    if not periodic:
        couplings = xp.where(_graph.lattice_cut_bonds(shape, periodic), 0.0, couplings)
    edges, bonds = _graph.lattice_bonds(shape, periodic)
    edge_couplings = couplings.reshape(dims, -1)[bonds[:, 0], bonds[:, 1]]
    uniform = coupling if traced and np.ndim(coupling) == 0 else None
    bipartite = (not periodic) or all(extent % 2 == 0 for extent in shape)
    nodes = [tuple(int(i) for i in index) for index in np.ndindex(*shape)]
    return shape, couplings, bipartite, edges, edge_couplings, nodes, uniform


def _matrix(matrix: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if _graph.is_traced(matrix):
        raise TypeError(
            f"from_matrix reads the graph from the non-zero entries of the {what} matrix, so the "
            "matrix must be concrete; for random couplings, build the model from a networkx "
            "graph with one value per edge (e.g. coupling=values aligned with graph.edges)"
        )
    weights = _graph.float_array(matrix, f"{what} matrix")
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1] or weights.shape[0] == 0:
        raise ValueError(f"the {what} matrix must be square and non-empty, got {weights.shape}")
    _graph.check_finite(weights, f"{what} matrix")
    asymmetric = np.argwhere(weights != weights.T)
    if asymmetric.size:
        i, j = asymmetric[0]
        raise ValueError(
            f"the {what} matrix is not symmetric: J[{i}, {j}] = {weights[i, j]} but "
            f"J[{j}, {i}] = {weights[j, i]}"
        )
    diagonal = np.flatnonzero(np.diag(weights))
    if diagonal.size:
        i = diagonal[0]
        raise ValueError(
            f"the {what} matrix has a non-zero diagonal entry J[{i}, {i}] = {weights[i, i]}; "
            "self-couplings are not allowed (put them into the field)"
        )
    rows, cols = np.nonzero(np.triu(weights, 1))
    edges = np.stack([rows, cols], axis=1)
    return edges, weights[rows, cols]


class Ising(PairwiseModel):
    r"""Ising model: spins :math:`s_i \in \{-1, +1\}` on the nodes of a graph,

    .. math:: E(s) = -\sum_{(ij) \in \text{edges}} J_{ij} s_i s_j - \sum_i h_i s_i,
       \qquad p(s) \propto e^{-\beta E(s)} .

    Args:
        graph: any undirected ``networkx.Graph``; sites follow ``graph.nodes`` order.
        coupling: a number, an array aligned with ``graph.edges`` or an edge attribute name.
        field: a number, an array aligned with ``graph.nodes`` or a node attribute name.
        beta: the inverse temperature (data: changing it never recompiles).
        coloring: optional colouring (array per site or dict per node) for block Gibbs;
            computed when omitted, and always verified.

    ``log_prob`` is the unnormalised :math:`-\beta E(s)`.

    Example:
        >>> import networkx as nx, physsamp as ps
        >>> model = ps.Ising(nx.cycle_graph(4), coupling=1.0, beta=0.5)
        >>> float(model.energy([1, 1, 1, 1]))
        -4.0
    """

    unit_values: ClassVar[tuple[int, int]] = (-1, 1)
    support = spins  # type: ignore[assignment]

    def __init__(
        self,
        graph: Any,
        coupling: Any = 1.0,
        field: Any = 0.0,
        beta: Any = 1.0,
        *,
        coloring: Any = None,
        validate_args: bool | None = None,
    ):
        nodes, edges = _graph.edges_of_graph(graph)
        couplings = _graph.edge_values(graph, coupling, len(edges), "coupling")
        fields = _graph.node_values(graph, field, len(nodes), "field")
        self._build(nodes, edges, couplings, fields, beta, coloring, validate_args=validate_args)

    @classmethod
    def lattice(
        cls,
        shape: Sequence[int],
        coupling: Any = 1.0,
        field: Any = 0.0,
        beta: Any = 1.0,
        periodic: bool = True,
        *,
        validate_args: bool | None = None,
    ):
        """A hypercubic lattice of any dimension, sites in C order of their coordinates.

        ``coupling`` is a number, one per direction, or one per bond (``[d, *shape]``: bond
        ``[d, x]`` joins x and x + e_d). When the lattice is bipartite (open, or periodic with
        even extents) block Gibbs uses the checkerboard stencil, which gives the same numbers
        as the generic neighbour-list path.

        Example:
            >>> import physsamp as ps
            >>> ps.Ising.lattice((8, 8), beta=0.44).num_sites
            64
        """
        model = cls.__new__(cls)
        model._build_lattice(shape, coupling, field, beta, periodic, validate_args)
        return model

    def _build_lattice(self, shape, coupling, field, beta, periodic, validate_args):
        shape, bonds, bipartite, edges, edge_couplings, nodes, uniform_coupling = _lattice(
            shape, coupling, periodic
        )
        fields = field if _graph.is_traced(field) else _graph.float_array(field, "field")
        if fields.shape == shape:
            fields = fields.ravel()
        uniform_field = field if _graph.is_traced(field) and np.ndim(field) == 0 else None
        fields = _graph.per_item(fields, len(nodes), "field", "sites")
        lattice = (shape, bonds, bipartite)
        self._build(nodes, edges, edge_couplings, fields, beta, lattice=lattice,
                    validate_args=validate_args, uniform_coupling=uniform_coupling,
                    uniform_field=uniform_field)  # fmt: skip

    @classmethod
    def from_matrix(
        cls,
        coupling: Any,
        field: Any = 0.0,
        beta: Any = 1.0,
        *,
        coloring: Any = None,
        validate_args: bool | None = None,
    ):
        """A model from a dense symmetric coupling matrix with zero diagonal (for example a
        Sherrington-Kirkpatrick spin glass). Each pair with a non-zero entry is an edge."""
        model = cls.__new__(cls)
        edges, couplings = _matrix(coupling, "coupling")
        num_sites = np.shape(coupling)[0]
        fields = _graph.per_item(field, num_sites, "field", "sites")
        model._build(list(range(num_sites)), edges, couplings, fields, beta, coloring,
                     validate_args=validate_args)  # fmt: skip
        return model


class BoltzmannMachine(PairwiseModel):
    r"""Boltzmann machine: binary units :math:`x_i \in \{0, 1\}` with symmetric weights,

    .. math:: E(x) = -\sum_{(ij)} W_{ij} x_i x_j - \sum_i b_i x_i,
       \qquad p(x) \propto e^{-\beta E(x)} .

    Built like :class:`Ising` from a graph (``weight`` per edge, ``bias`` per node), or from a
    dense matrix with :meth:`from_matrix`. With :math:`x = (1 + s)/2` it is an Ising model with
    :math:`J = W/4` and :math:`h_i = b_i/2 + \sum_j W_{ij}/4`; cluster moves use that mapping.

    Example:
        >>> import numpy as np, physsamp as ps
        >>> bm = ps.BoltzmannMachine.from_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]), bias=-0.5)
        >>> float(bm.energy([1, 1]))
        0.0
    """

    unit_values: ClassVar[tuple[int, int]] = (0, 1)
    support = binary_units  # type: ignore[assignment]

    def __init__(
        self,
        graph: Any,
        weight: Any = 1.0,
        bias: Any = 0.0,
        beta: Any = 1.0,
        *,
        coloring: Any = None,
        validate_args: bool | None = None,
    ):
        nodes, edges = _graph.edges_of_graph(graph)
        weights = _graph.edge_values(graph, weight, len(edges), "weight")
        biases = _graph.node_values(graph, bias, len(nodes), "bias")
        self._build(nodes, edges, weights, biases, beta, coloring, validate_args=validate_args)

    @classmethod
    def from_matrix(
        cls,
        weight: Any,
        bias: Any = 0.0,
        beta: Any = 1.0,
        *,
        coloring: Any = None,
        validate_args: bool | None = None,
    ):
        """A Boltzmann machine from a dense symmetric weight matrix with zero diagonal."""
        model = cls.__new__(cls)
        edges, weights = _matrix(weight, "weight")
        num_sites = np.shape(weight)[0]
        biases = _graph.per_item(bias, num_sites, "bias", "sites")
        model._build(list(range(num_sites)), edges, weights, biases, beta, coloring,
                     validate_args=validate_args)  # fmt: skip
        return model

    @property
    def weights(self) -> Float[Array, " edges"]:
        return self.edge_couplings

    @property
    def bias(self) -> Float[Array, " sites"]:
        return self.field

    def spin_form(self) -> tuple[Float[Array, " edges"], Float[Array, " sites"], Array]:
        """Couplings, fields and energy offset of the equivalent Ising model in
        :math:`s = 2x - 1`: :math:`E_{BM}(x) = E_{Ising}(s) + \\text{offset}`."""
        quarter = self.edge_couplings / 4
        degree_sum = jnp.zeros(self.num_sites, jnp.float32)
        degree_sum = degree_sum.at[self.edges[:, 0]].add(quarter).at[self.edges[:, 1]].add(quarter)
        fields = self.field / 2 + degree_sum
        offset = -quarter.sum() - self.field.sum() / 2
        return quarter, fields, offset


class Hopfield(Ising):
    r"""Hopfield network (Hopfield, PNAS 79, 2554 (1982)): spins :math:`s_i \in \{-1, +1\}`,
    Hebbian weights :math:`W = \frac{1}{N} \sum_\mu \xi^\mu (\xi^\mu)^T` with zero diagonal,

    .. math:: E(s) = -\tfrac12 \sum_{i \ne j} W_{ij} s_i s_j = -\sum_{i<j} W_{ij} s_i s_j .

    At zero temperature :meth:`recall` descends the energy by asynchronous updates to a fixed
    point; at finite beta the network is a pairwise model sampled by block Gibbs like any other.
    Storage works while the load P/N stays well below about 0.138 (Amit, Gutfreund &
    Sompolinsky, PRL 55, 1530 (1985)).

    Example:
        >>> import numpy as np, physsamp as ps
        >>> patterns = np.where(np.random.default_rng(0).random((3, 100)) < 0.5, -1, 1)
        >>> net = ps.Hopfield.from_patterns(patterns)
        >>> probe = patterns[0].copy(); probe[:10] *= -1
        >>> bool((np.asarray(net.recall(probe)) == patterns[0]).all())
        True
    """

    @classmethod
    def from_patterns(cls, patterns: Any, beta: Any = 1.0, *, validate_args: bool | None = None):
        """Store ``patterns [num_patterns, num_sites]`` of ±1 values with the Hebb rule."""
        stored = np.atleast_2d(np.asarray(patterns))
        if stored.ndim != 2 or stored.size == 0:
            raise ValueError(f"patterns must be [num_patterns, num_sites], got {stored.shape}")
        bad = np.argwhere(~np.isin(stored, (-1, 1)))
        if bad.size:
            raise ValueError(
                f"patterns must hold -1/+1 values; pattern {bad[0][0]} has "
                f"{stored[tuple(bad[0])]} at site {bad[0][1]}"
            )
        stored = stored.astype(np.float64)
        weights = stored.T @ stored / stored.shape[1]
        np.fill_diagonal(weights, 0.0)
        model = cls.__new__(cls)
        edges, couplings = _matrix(weights, "weight")
        num_sites = stored.shape[1]
        model._build(list(range(num_sites)), edges, couplings, np.zeros(num_sites), beta,
                     coloring=np.arange(num_sites), validate_args=validate_args)  # fmt: skip
        model.patterns = jnp.asarray(stored, dtype=jnp.int8)
        return model

    pytree_data_fields = ("patterns",)
    patterns: Int8[Array, "patterns sites"]

    def recall(self, probe: ArrayLike, max_sweeps: int = 100) -> Int8[Array, " sites"]:
        """Zero-temperature asynchronous dynamics from ``probe``: sites are visited in order,
        each set to the sign of its local field (kept on a tie), until a sweep changes
        nothing (a fixed point, a local minimum of the energy) or ``max_sweeps`` pass."""
        start = jnp.asarray(probe, dtype=jnp.int8)
        if start.shape != (self.num_sites,):
            raise ValueError(f"probe must have shape ({self.num_sites},), got {start.shape}")
        self.check_values(start)
        return _recall(self, start, max_sweeps)


@partial(jax.jit, static_argnums=2)
def _recall(model: Hopfield, spins_: Array, max_sweeps: int) -> Array:
    def update(site, state):
        spins_now, changed = state
        local = model.local_field(spins_now, site[None])[0]
        new = jnp.where(local > 0, 1, jnp.where(local < 0, -1, spins_now[site])).astype(jnp.int8)
        return spins_now.at[site].set(new), changed | (new != spins_now[site])

    def sweep(state):
        spins_now, _, count = state
        spins_now, changed = jax.lax.fori_loop(
            0, model.num_sites, update, (spins_now, jnp.array(False))
        )
        return spins_now, changed, count + 1

    def keep_going(state):
        _, changed, count = state
        return changed & (count < max_sweeps)

    final, _, _ = jax.lax.while_loop(keep_going, sweep, (spins_, jnp.array(True), 0))
    return final
