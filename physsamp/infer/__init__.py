"""NumPyro kernels and estimators built on :mod:`physsamp.kernels`."""

from physsamp.infer._adapter import PhysicsKernel, PhysicsState
from physsamp.infer.ais import (
    AISBounds,
    AISResult,
    RBMLogLikelihood,
    ais_bounds,
    ais_log_partition,
    ais_log_z_vs_num_betas,
    ais_to_inference_data,
    plot_ais,
    plot_log_z_vs_num_betas,
    rbm_log_likelihood,
)
from physsamp.infer.block_gibbs import BlockGibbs
from physsamp.infer.exchange import Exchange, ExchangeState
from physsamp.infer.ground_states import GroundStateSearch, ground_state
from physsamp.infer.parallel_tempering import ParallelTempering, TemperingSummary
from physsamp.infer.swendsen_wang import SwendsenWang
from physsamp.kernels.parallel_tempering import (
    SteppingStoneEstimate,
    stepping_stone_log_partition,
)

__all__ = [
    "AISBounds",
    "AISResult",
    "BlockGibbs",
    "Exchange",
    "ExchangeState",
    "GroundStateSearch",
    "ParallelTempering",
    "PhysicsKernel",
    "PhysicsState",
    "RBMLogLikelihood",
    "SteppingStoneEstimate",
    "SwendsenWang",
    "TemperingSummary",
    "ais_bounds",
    "ais_log_partition",
    "ais_log_z_vs_num_betas",
    "ais_to_inference_data",
    "ground_state",
    "plot_ais",
    "plot_log_z_vs_num_betas",
    "rbm_log_likelihood",
    "stepping_stone_log_partition",
]
