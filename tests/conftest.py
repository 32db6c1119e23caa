"""Shared fixtures: one torch thread per process, a fixed seed per test, a Ray session per module that asks for it."""

import pytest
import torch

# The suite's models are tiny (the paper-size parity checks are the exception and are fine on one):
# one thread per process avoids OpenMP barrier stalls on 2 cores shared with Ray workers.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def ray_session():
    """A local 2-CPU Ray session for the tests of one module (2 trials or EnvRunners of 1 CPU side by side)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
