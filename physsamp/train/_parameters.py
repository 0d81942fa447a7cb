"""A model's trainable parameters as a dict of arrays, and the map back to a model.

Training differentiates and updates the dict; :func:`rebuilder` returns the function that puts
a dict back into a model of the same type and structure (graph, colouring, lattice layout),
built once from the concrete starting model so that it runs inside ``jit`` with nothing
recomputed from the graph.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from physsamp.models import _graph
from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import PairwiseModel
from physsamp.models.rbm import RBM

Parameters = dict[str, Array]


def parameters_of(model: EnergyModel) -> Parameters:
    """The trainable parameters: an RBM's ``weights``, ``visible_bias`` and ``hidden_bias``;
    a pairwise model's ``couplings`` (one per edge) and ``field`` (bias per unit)."""
    if isinstance(model, RBM):
        return {
            "weights": jnp.asarray(model.weights),
            "visible_bias": jnp.asarray(model.visible_bias),
            "hidden_bias": jnp.asarray(model.hidden_bias),
        }
    if isinstance(model, PairwiseModel):
        return {"couplings": jnp.asarray(model.edge_couplings), "field": jnp.asarray(model.field)}
    raise TypeError(
        f"physsamp.train trains an RBM, a BoltzmannMachine or an Ising model, got "
        f"{type(model).__name__}"
    )


def rebuilder(model: EnergyModel) -> Callable[[Parameters], EnergyModel]:
    """``rebuild(parameters)``: ``model`` with its parameters replaced (traced values allowed)."""
    if isinstance(model, RBM):

        def rebuild_rbm(parameters: Parameters) -> EnergyModel:
            other = copy.copy(model)
            other.weights = parameters["weights"]
            other.visible_bias = parameters["visible_bias"]
            other.hidden_bias = parameters["hidden_bias"]
            return other

        return rebuild_rbm
    if not isinstance(model, PairwiseModel):
        parameters_of(model)  # raises the message
    assert isinstance(model, PairwiseModel)
    num_sites = model.num_sites
    edges = np.asarray(model.edges)
    shape = model.lattice_shape
    bond_of_edge = None
    if shape is None:
        neighbors, slots = _graph.neighbour_slots(num_sites, edges)
    else:
        # Keep the stencil's neighbour order: slots follow the lattice's bonds.
        dims = len(shape)
        _, bonds = _graph.lattice_bonds(shape, periodic=len(edges) == dims * num_sites)
        bond_of_edge = bonds[:, 0] * num_sites + bonds[:, 1]
        edge_plus_one = np.zeros(dims * num_sites)
        edge_plus_one[bond_of_edge] = np.arange(1, len(edges) + 1)
        neighbors, slots = _graph.lattice_neighbour_lists(
            shape, edge_plus_one.reshape(dims, *shape)
        )
        slots = slots.astype(np.int64) - 1
    neighbors = jnp.asarray(neighbors, jnp.int32)
    padding = slots < 0
    slots = np.maximum(slots, 0)

    def rebuild_pairwise(parameters: Parameters) -> EnergyModel:
        couplings = jnp.asarray(parameters["couplings"], jnp.float32)
        other = copy.copy(model)
        other.edge_couplings = couplings
        other.field = jnp.asarray(parameters["field"], jnp.float32)
        other.neighbors = neighbors
        other.neighbor_couplings = jnp.where(padding, 0.0, couplings[slots])
        other.uniform_coupling = None
        other.uniform_field = None
        if shape is not None:
            bonds_flat = jnp.zeros(len(shape) * num_sites, jnp.float32).at[bond_of_edge]
            other.bond_couplings = bonds_flat.set(couplings).reshape(len(shape), *shape)
        return other

    return rebuild_pairwise
