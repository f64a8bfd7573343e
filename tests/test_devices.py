"""The one device resolver: default, explicit devices, one-line errors."""

import pytest
import torch

from eqscale.devices import resolve_device
from eqscale.errors import EqscaleError


def test_default_is_cuda_when_present_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected == resolve_device("").type
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["no-such-device", "cuda:x", "gpu"])
def test_unknown_devices_are_user_errors(name):
    with pytest.raises(EqscaleError, match="unknown device"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's error")
def test_cuda_without_cuda_is_a_user_error():
    with pytest.raises(EqscaleError, match="CUDA is not available"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_bare_cuda_is_one_gpu_per_local_rank():
    n = torch.cuda.device_count()
    assert resolve_device("cuda", local_rank=n + 1) == torch.device("cuda", (n + 1) % n)
    assert resolve_device("cuda:0", local_rank=5) == torch.device("cuda", 0)
