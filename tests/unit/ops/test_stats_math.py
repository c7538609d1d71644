"""docker stats' arithmetic (engine/stats.py) and its table fields (cli/stats.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.stats import stats_fields
from dockyard.engine.stats import cpu_percent, memory_usage, net_dev, summarize

NET_DEV = "\n".join([
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed",
    "    lo:    1000      10    0    0    0     0          0         0     1000      10    0 "
    "   0    0     0       0          0",
    "  eth0: 123456     100    1    2    0     0          0         0    65432      50    3 "
    "   4    0     0       0          0",
]) + "\n"


def test_net_dev_leaves_out_loopback() -> None:
    assert net_dev(NET_DEV) == {"eth0": {"rx_bytes": 123456, "rx_packets": 100,
                                         "rx_errors": 1, "rx_dropped": 2, "tx_bytes": 65432,
                                         "tx_packets": 50, "tx_errors": 3, "tx_dropped": 4}}


def _cpu(total: int, system: int, cpus: int = 2) -> dict[str, object]:
    return {"cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system,
                          "online_cpus": cpus}}


def test_cpu_percent_is_dockers_formula() -> None:
    # half a CPU of a two-CPU host's time over the interval → 50%
    assert cpu_percent(_cpu(1_500, 4_000), _cpu(1_000, 2_000)) == 50.0
    assert cpu_percent(_cpu(1_500, 4_000), None) == 0.0
    assert cpu_percent(_cpu(1_000, 4_000), _cpu(1_000, 2_000)) == 0.0


@given(st.integers(0, 1 << 40), st.integers(0, 1 << 40))
def test_memory_usage_subtracts_inactive_file_below_usage(usage: int, inactive: int) -> None:
    v1 = memory_usage({"usage": usage, "stats": {"total_inactive_file": inactive}})
    v2 = memory_usage({"usage": usage, "stats": {"inactive_file": inactive}})
    expected = usage - inactive if inactive < usage else usage
    assert v1 == v2 == expected


def test_summary_and_table_fields() -> None:
    cur = {"id": "a" * 64, "name": "/web", **_cpu(3_000, 8_000),
           "memory_stats": {"usage": 70 << 20, "limit": 128 << 20,
                            "stats": {"total_inactive_file": 6 << 20}},
           "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 2_500_000}},
           "blkio_stats": {"io_service_bytes_recursive": [
               {"major": 8, "minor": 0, "op": "read", "value": 4096},
               {"major": 8, "minor": 0, "op": "write", "value": 1_000_000}]},
           "pids_stats": {"current": 7}}
    row = summarize(cur, _cpu(1_000, 4_000))
    assert row["mem_usage"] == 64 << 20 and row["pids"] == 7
    fields = stats_fields(row, "web")
    assert fields == {"ID": "a" * 12, "Container": "web", "Name": "web", "CPUPerc": "100.00%",
                      "MemUsage": "64MiB / 128MiB", "MemPerc": "50.00%",
                      "NetIO": "1.5kB / 2.5MB", "BlockIO": "4.1kB / 1MB", "PIDs": "7"}
