"""FLOP counting with ``torch.utils.flop_counter``, including the CPU fused-attention kernels.

PyTorch registers FLOP formulas for the CUDA SDPA kernels only; on CPU ``scaled_dot_product_attention``
dispatches to ``_scaled_dot_product_flash_attention_for_cpu``, which would count as 0. We register the
same formulas for the CPU ops so that counts are identical on both devices.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

_aten = torch.ops.aten


def _register_cpu_sdpa() -> None:
    fwd = getattr(_aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    bwd = getattr(_aten, "_scaled_dot_product_flash_attention_for_cpu_backward", None)
    if fwd is not None and fwd not in flop_counter.flop_registry:

        def _fwd(
            query_shape: tuple[int, ...],
            key_shape: tuple[int, ...],
            value_shape: tuple[int, ...],
            *args: object,
            out_shape: object = None,
            **kwargs: object,
        ) -> int:
            return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)

        flop_counter.register_flop_formula(fwd)(_fwd)
    if bwd is not None and bwd not in flop_counter.flop_registry:

        def _bwd(
            grad_out_shape: tuple[int, ...],
            query_shape: tuple[int, ...],
            key_shape: tuple[int, ...],
            value_shape: tuple[int, ...],
            *args: object,
            out_shape: object = None,
            **kwargs: object,
        ) -> int:
            return flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)

        flop_counter.register_flop_formula(bwd)(_bwd)


_register_cpu_sdpa()


def count_flops(fn: Callable[[], object]) -> int:
    """Total FLOPs of calling ``fn()`` (multiply-add = 2 FLOPs)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
