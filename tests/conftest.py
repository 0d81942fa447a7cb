import jax
import pytest

jax.config.update("jax_debug_key_reuse", True)


@pytest.fixture
def key():
    return jax.random.key(20261124)


@pytest.fixture
def numpyro_reuses_keys():
    """NumPyro's NUTS initialisation and SVI's guide set-up reuse a PRNG key (numpyro 0.22:
    plain ``MCMC(NUTS(model))`` trips the checker), so tests that run them switch it off."""
    with jax.debug_key_reuse(False):
        yield
