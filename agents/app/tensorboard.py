"""TensorBoard scalars with tensorboardX, resumable without duplicated or rewound steps.

On resume, events logged after the checkpoint being resumed (by a process that was killed later) are
dropped: the event files are read back, the events at or before the checkpoint's step are rewritten
into one fresh file, and the old files are removed.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from tensorboardX import SummaryWriter
from tensorboardX.proto.event_pb2 import Event


def read_events(path: Path) -> Iterator[Event]:
    """Events of one TFRecord event file (a truncated last record, from a killed writer, is skipped)."""
    data = path.read_bytes()
    i = 0
    while i + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[i : i + 8])
        start, end = i + 12, i + 12 + length
        if end + 4 > len(data):
            break
        ev = Event()
        ev.ParseFromString(data[start:end])
        yield ev
        i = end + 4


def scalar_series(log_dir: Path, tag: str) -> list[tuple[int, float]]:
    """``(step, value)`` of ``tag`` over every event file in ``log_dir``, in file then write order."""
    out = []
    for f in sorted(log_dir.glob("events.out.tfevents.*")):
        for ev in read_events(f):
            for v in ev.summary.value:
                if v.tag == tag:
                    out.append((ev.step, v.simple_value))
    return out


class ScalarLogger:
    """``log(step, {tag: value})`` into ``log_dir``; ``resume_step`` truncates history after that step."""

    def __init__(self, log_dir: Path, resume_step: int | None = None) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        old = sorted(log_dir.glob("events.out.tfevents.*"))
        kept = []
        if resume_step is not None:
            kept = [ev for f in old for ev in read_events(f) if ev.HasField("summary") and ev.step <= resume_step]
        # A unique suffix: the fresh file never collides with an old one that is about to be removed.
        self.writer = SummaryWriter(
            logdir=str(log_dir), flush_secs=5, filename_suffix=f".{os.getpid()}.{time.time_ns()}"
        )
        if resume_step is not None:
            fw = self.writer._get_file_writer()
            for ev in kept:
                fw.add_event(ev)
            self.writer.flush()
            for f in old:
                f.unlink()

    def log(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            if value is not None and value == value:  # skip None / NaN (no episode finished yet)
                self.writer.add_scalar(tag, float(value), step)
        self.writer.flush()

    def image(self, step: int, tag: str, image) -> None:
        """One ``(H, W, 3)`` uint8 image (e.g. an evaluation's replay film strip) at ``step``."""
        self.writer.add_image(tag, image, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
