"""Fixtures shared by the engine tests."""

import struct

import pytest
from tensorboardX.proto import event_pb2


def _scalars(folder):
    """(tag, step, value) of every scalar in the TensorBoard event files of ``folder``, sorted.

    An event file is a sequence of records: an 8-byte length, a 4-byte CRC, the serialised
    ``Event``, a 4-byte CRC.
    """
    out = []
    for path in folder.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + n])
            pos += 12 + n + 4
            out += [(v.tag, event.step, v.simple_value) for v in event.summary.value]
    return sorted(out)


@pytest.fixture(scope="session")
def tb_scalars():
    """The reader of a run's TensorBoard scalars: ``tb_scalars(run_dir / "tb")``."""
    return _scalars
