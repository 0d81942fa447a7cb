"""physsamp: samplers of statistical physics for NumPyro models on graphs."""

import numpyro  # noqa: F401  (before arviz: arviz >= 1.0 breaks conversion otherwise)

from physsamp import diagnostics, exact, infer, kernels, lattice_exact, plots, train
from physsamp.diagnostics import to_inference_data
from physsamp.distributed import gather_inference_data, process_key
from physsamp.models import RBM, BoltzmannMachine, EnergyModel, Hopfield, Ising, PairwiseModel

__all__ = [
    "RBM",
    "BoltzmannMachine",
    "EnergyModel",
    "Hopfield",
    "Ising",
    "PairwiseModel",
    "diagnostics",
    "exact",
    "gather_inference_data",
    "infer",
    "kernels",
    "lattice_exact",
    "plots",
    "process_key",
    "to_inference_data",
    "train",
]
__version__ = "0.1.0"
