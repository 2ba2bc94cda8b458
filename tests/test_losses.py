"""Loss and corruption functions on tensors."""

import pytest
import torch

from aekit import losses


@pytest.mark.parametrize("noise_type", losses.NOISE_TYPES)
def test_every_noise_type_corrupts(noise_type):
    x = torch.full((64, 16), 0.5)
    torch.manual_seed(0)
    noisy = losses.corrupt(x, noise_type, 0.3)
    assert noisy.shape == x.shape and not torch.equal(noisy, x)


def test_unknown_noise_type_is_a_clear_error():
    # it used to fall through to Gaussian noise silently
    with pytest.raises(
        ValueError, match="noise_type must be one of 'gaussian'.*'speckle'"
    ):
        losses.corrupt(torch.zeros(2, 3), "speckle", 0.1)
