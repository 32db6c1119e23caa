import pytest
import torch

# The suite's models are tiny (the paper-size parity checks are the exception and are fine on one):
# one thread per process avoids OpenMP barrier stalls on 2 cores shared with Ray workers.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
