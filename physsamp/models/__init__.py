"""Energy-based models on graphs, each a NumPyro distribution."""

from physsamp.models.base import EnergyModel
from physsamp.models.pairwise import BoltzmannMachine, Hopfield, Ising, PairwiseModel
from physsamp.models.rbm import RBM

__all__ = ["RBM", "BoltzmannMachine", "EnergyModel", "Hopfield", "Ising", "PairwiseModel"]
