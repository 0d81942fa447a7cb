import jax
import pytest

jax.config.update("jax_debug_key_reuse", True)


@pytest.fixture
def key():
    return jax.random.key(20261124)


@pytest.fixture
def numpyro_nuts():
    """NumPyro's own NUTS initialisation reuses a PRNG key (numpyro 0.22: plain
    ``MCMC(NUTS(model))`` trips the checker), so tests that run it switch the check off."""
    with jax.debug_key_reuse(False):
        yield
