import numpy as np
import pytest

from monitor.ring import TimeSeriesBuffer


def test_keeps_only_the_newest_capacity_samples_in_order():
    buf = TimeSeriesBuffer(5)
    for i in range(12):
        buf.append(float(i), i * 10.0)
    t, v = buf.snapshot()
    assert t.tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert v.tolist() == [70.0, 80.0, 90.0, 100.0, 110.0]
    assert buf.total_appended == 12 and len(buf) == 5


def test_snapshot_since_cuts_by_time_and_returns_copies():
    buf = TimeSeriesBuffer(100)
    for i in range(10):
        buf.append(float(i), float(i))
    t, v = buf.snapshot(since=6.5)
    assert t.tolist() == [7.0, 8.0, 9.0]
    v[:] = -1
    assert buf.snapshot(since=6.5)[1].tolist() == [7.0, 8.0, 9.0]


def test_extend_larger_than_capacity_keeps_the_tail():
    buf = TimeSeriesBuffer(4)
    buf.extend(np.arange(10.0), np.arange(10.0) * 2)
    t, v = buf.snapshot()
    assert t.tolist() == [6.0, 7.0, 8.0, 9.0]
    assert v.tolist() == [12.0, 14.0, 16.0, 18.0]
    assert buf.total_appended == 10


def test_nan_values_survive_as_gaps():
    buf = TimeSeriesBuffer(3)
    buf.append(1.0, 5.0)
    buf.append(2.0, float("nan"))
    assert np.isnan(buf.snapshot()[1][1])
    assert buf.last()[0] == 2.0


def test_memory_is_fixed_however_long_it_runs():
    buf = TimeSeriesBuffer(1000)
    before = buf._t.nbytes + buf._v.nbytes
    for i in range(50_000):
        buf.append(float(i), 1.0)
    assert buf._t.nbytes + buf._v.nbytes == before
    assert buf.snapshot()[0][0] == 49_000.0


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        TimeSeriesBuffer(0)
    assert TimeSeriesBuffer(3).last() is None
