"""A policy's rollout step as TorchScript traces, one per input signature (pure torch).

At rollout sizes (batch 1-16) a policy's forward is hundreds of small ATen calls whose Python dispatch (module
calls, argument checks, the attention's choice of form) costs as much as the arithmetic or more: the SC2 policy
at batch 1 makes ~780 calls per action, a token env's ~230 per step. ``torch.jit.trace`` records the pass once
per input signature and replays the same ATen kernels in the same order from C++: the same numbers, bitwise
(the same RNG draws for the same generator state), with the Python dispatch gone.

What a trace freezes is every Python value computed while recording: the input shapes, dtypes and device (keyed
on), the module's train/eval mode (keyed on), the caller's static arguments (its ``key``), and any Python branch
on a tensor's *values* (an early exit, ``if mask.any()``, ``.item()``, a data-dependent shape). A pass given to
:class:`TracedSteps` must have none of the last kind: its tests run a trace recorded on one observation on others
(other masks, other numbers of legal units) against the eager pass.

The traces hold the module's own parameter tensors, so in-place updates (``load_state_dict``, an optimiser step,
RLlib's weight sync) reach them; a parameter *replaced* by a new tensor does not. They are no submodules (state
dicts and checkpoints unchanged) and are neither copied nor pickled with the module (re-recorded on first use).
Only rollout steps use them: recorded and replayed under ``torch.inference_mode``, never a learner's pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable

import torch
from torch import nn

from .core import State

Tensors = dict[str, torch.Tensor]
STATE_KEYS = ("h", "c")
"""The LSTM state's entries, passed beside a step's observation tensors (no observation field has these names)."""
MAX_TRACES = 16
"""Traces kept per module (oldest dropped): an EnvRunner sees one signature per mode; a caller that varies its
batch size pays a re-recording (~0.1-0.3 s for the SC2 policy), not unbounded memory."""


def with_state(tensors: Tensors, state: State | None) -> Tensors:
    """A step's inputs: the observation tensors and, for a policy with an LSTM core, its state."""
    return tensors if state is None else {**tensors, **{k: state[k] for k in STATE_KEYS}}


def split_state(tensors: Tensors) -> tuple[Tensors, State | None]:
    """The inverse of :func:`with_state` (also splits a step's outputs: ``(outputs, new state or None)``)."""
    rest = {k: v for k, v in tensors.items() if k not in STATE_KEYS}
    return rest, ({k: tensors[k] for k in STATE_KEYS} if STATE_KEYS[0] in tensors else None)


class _Step(nn.Module):
    """``fn`` as a module over positional tensors (what ``jit.trace`` records); ``module`` is its submodule so
    that the trace holds the module's parameters as parameters, not as constants."""

    def __init__(self, module: nn.Module, fn: Callable[[Tensors], Tensors], names: tuple[str, ...]) -> None:
        super().__init__()
        self.module, self.fn, self.names = module, fn, names
        self.out_names: tuple[str, ...] = ()

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.fn(dict(zip(self.names, tensors)))
        self.out_names = tuple(out)
        return tuple(out.values())


class TracedSteps:
    """``fn(inputs) -> outputs`` (dicts of tensors, no Python branch on their values) through a trace per
    (``key``, the module's mode, the inputs' names, shapes, dtypes and device). ``key`` names every other Python
    value ``fn`` depends on (e.g. the leading dims, greedy or sampled). ``enabled=False``: ``fn`` runs eagerly
    (``PolicyConfig.trace_rollout``, for passes that branch on values)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._traces: dict[tuple, tuple[torch.jit.ScriptModule, tuple[str, ...]]] = {}

    def __getstate__(self) -> dict:  # traces are neither picklable nor worth copying: re-recorded on first use
        return {"enabled": self.enabled, "_traces": {}}

    @torch.inference_mode()
    def __call__(self, module: nn.Module, fn: Callable[[Tensors], Tensors], inputs: Tensors, key: Hashable) -> Tensors:
        if not self.enabled:
            return fn(inputs)
        signature = (key, module.training, tuple((k, v.shape, v.dtype, v.device) for k, v in inputs.items()))
        entry = self._traces.get(signature)
        if entry is None:
            if len(self._traces) >= MAX_TRACES:
                del self._traces[next(iter(self._traces))]
            step = _Step(module, fn, tuple(inputs))
            # Recording runs the pass once (drawing its samples): the generator is restored after it, so that
            # the first replay below draws what the eager pass would have (the same actions from the first call).
            # The TracerWarnings here are Python values computed from shapes (shape checks, the attention's
            # choice of form, 1/sqrt(C)): fixed for the signature. jit.trace is deprecated in torch 2.13 (still
            # supported); torch.export is its successor for a fixed-shape step.
            accelerators = list({v.device for v in inputs.values() if v.device.type == "cuda"})
            with warnings.catch_warnings(), torch.random.fork_rng(devices=accelerators):
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                traced = torch.jit.trace(step, tuple(inputs.values()), check_trace=False)
            entry = self._traces[signature] = (traced, step.out_names)
        traced, names = entry
        return dict(zip(names, traced(*inputs.values())))
