import numpy as np
import pytest

from perceiver_rl import FourierPositionEncoding, LearnedPositionEncoding, TrainableQueries


def numpy_fourier(index_dims, num_bands, max_resolution, concat_pos=True):
    """DeepMind's formula (position_encoding.py), written independently in NumPy."""
    axes = [np.linspace(-1.0, 1.0, n) for n in index_dims]
    pos = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(index_dims))
    freqs = np.stack([np.linspace(1.0, r / 2, num_bands) for r in max_resolution])
    per = (pos[:, :, None] * freqs[None]).reshape(pos.shape[0], -1)
    feats = np.concatenate([np.sin(np.pi * per), np.cos(np.pi * per)], axis=-1)
    return np.concatenate([pos, feats], axis=-1) if concat_pos else feats


@pytest.mark.parametrize(
    "index_dims,bands,max_res",
    [((7, 9), 64, None), ((224, 224), 64, None), ((368, 496), 64, None), ((13,), 8, (40,)), ((3, 4, 5), 4, None)],
)
def test_fourier_matches_numpy_formula(index_dims, bands, max_res):
    enc = FourierPositionEncoding(index_dims, bands, max_resolution=max_res)
    d = len(index_dims)
    out = enc(2)
    assert out.shape == (2, int(np.prod(index_dims)), d * bands * 2 + d)
    ref = numpy_fourier(index_dims, bands, max_res or index_dims)
    # float32 like DeepMind's JAX code and HF: the rounding of sin(pi*f*p) grows with the top frequency
    # (pi*f*p reaches ~780 at 496 px: ~8e-5), so the tolerance scales with max_resolution/2.
    top_freq = max(max_res or index_dims) / 2
    np.testing.assert_allclose(out[1].numpy(), ref, atol=1e-6 * (1 + top_freq))


def test_fourier_width_258_for_2d_64_bands():
    assert FourierPositionEncoding((56, 56), 64).num_channels == 258
    assert FourierPositionEncoding((56, 56), 64, concat_pos=False).num_channels == 256


def test_learned_encodings_are_trainable_and_batched():
    enc, q = LearnedPositionEncoding(10, 6), TrainableQueries(4, 6)
    assert enc(3).shape == (3, 10, 6) and q(5).shape == (5, 4, 6)
    assert sum(p.numel() for p in q.parameters()) == 24
    q(2).sum().backward()
    assert q.embeddings.grad is not None


def test_fourier_max_resolution_mismatch_is_an_error():
    with pytest.raises(ValueError, match="max_resolution"):
        FourierPositionEncoding((4, 4), 8, max_resolution=(4,))
