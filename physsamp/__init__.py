"""physsamp: samplers of statistical physics for NumPyro models on graphs."""

from physsamp import exact
from physsamp.models import RBM, BoltzmannMachine, EnergyModel, Hopfield, Ising, PairwiseModel

__all__ = ["RBM", "BoltzmannMachine", "EnergyModel", "Hopfield", "Ising", "PairwiseModel", "exact"]
__version__ = "0.1.0"
