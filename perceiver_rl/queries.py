"""Output queries: the "IO" of Perceiver IO. Any ``(B, O, C)`` tensor can be a query; this is the learned kind."""

from __future__ import annotations

from .position import LearnedPositionEncoding


class TrainableQueries(LearnedPositionEncoding):
    """``num_queries`` learned output queries: ``forward(B) -> (B, num_queries, num_channels)``.

    The same parameterisation as a learned position encoding (DeepMind's ``TrainablePositionEncoding``
    is what its decoders use for their queries).
    """

    def __init__(self, num_queries: int, num_channels: int, *, init_scale: float = 0.02) -> None:
        super().__init__(num_queries, num_channels, init_scale=init_scale)
