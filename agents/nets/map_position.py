"""One position encoding for everything that has a place on the map: entities and location queries.

Perceiver IO's recipe for dense outputs is an output query per position, built from the same position
encoding as the inputs. Here an entity standing in cell ``(x, y)`` and the location query of that cell get
*identical* Fourier features, so "the cell where that unit stands" is easy to express for any head:

- :meth:`MapPositionEncoding.entities` ``(B, N, 2)`` grid coordinates / grid size -> ``(B, N, P)``;
- :meth:`MapPositionEncoding.cells` -> ``(H*W, P)``, row-major (flat index ``y * W + x``);
- :meth:`MapPositionEncoding.cell_index` ``(B, N, 2)`` -> ``(B, N)`` flat index of each entity's cell.

Coordinates map ``[0, 1) -> [-1, 1)`` and go through DeepMind's :func:`~perceiver_rl.position.fourier_features`
with ``max_resolution = (H, W)``.
"""

from __future__ import annotations

import torch
from torch import nn

from perceiver_rl.position import fourier_features


class MapPositionEncoding(nn.Module):
    """Fixed Fourier features of map positions on an ``(H, W)`` grid (see module docstring)."""

    _cells: torch.Tensor

    def __init__(self, spatial_size: tuple[int, int], num_bands: int) -> None:
        super().__init__()
        self.spatial_size, self.num_bands = (int(spatial_size[0]), int(spatial_size[1])), num_bands
        h, w = self.spatial_size
        ys, xs = torch.meshgrid(torch.arange(h) / h, torch.arange(w) / w, indexing="ij")
        self.register_buffer("_cells", self._encode(torch.stack([xs, ys], -1).reshape(-1, 2)), persistent=False)

    @property
    def num_channels(self) -> int:
        """P = 2 + 2 * 2 * num_bands."""
        return self._cells.shape[-1]

    def _encode(self, xy: torch.Tensor) -> torch.Tensor:
        h, w = self.spatial_size
        return fourier_features(2 * xy - 1, self.num_bands, (w, h))

    def entities(self, xy: torch.Tensor) -> torch.Tensor:
        """``xy (*B, N, 2)`` (x, y) in grid units / grid size -> ``(*B, N, P)``, snapped to the entity's cell."""
        h, w = self.spatial_size
        cell = torch.stack([self._snap(xy[..., 0], w) / w, self._snap(xy[..., 1], h) / h], -1)
        return self._encode(cell.reshape(-1, 2)).reshape(*xy.shape[:-1], -1)

    def cells(self) -> torch.Tensor:
        """``(H*W, P)`` features of every cell, row-major."""
        return self._cells

    def cell_index(self, xy: torch.Tensor) -> torch.Tensor:
        """``xy (*B, N, 2)`` -> ``(*B, N)`` int64 flat index ``y * W + x`` of the cell each entity stands in."""
        h, w = self.spatial_size
        return self._snap(xy[..., 1], h) * w + self._snap(xy[..., 0], w)

    @staticmethod
    def _snap(coord: torch.Tensor, n: int) -> torch.Tensor:
        return (coord * n).round().long().clamp(0, n - 1)
