"""``system df [-v]``: images, containers, build cache and container logs on disk."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.cli.diskusage import render_df, summary_rows
from dockyard.engine.diskusage import disk_usage
from tests.integration.ops.conftest import eventually

MB = 1_000_000


def test_counts_images_containers_and_logs(store_engine: Any) -> None:
    eng = store_engine
    writer = eng.create("writer", {"Image": "busybox", "Cmd": [
        "sh", "-c", "dd if=/dev/zero of=/blob bs=1M count=3 2>/dev/null; touch /done; "
        "sleep 60"]}, {"NetworkMode": "none"})["Id"]
    eng.start(writer)
    talker = eng.create("talker", {"Image": "busybox", "Cmd": ["seq", "1", "50000"]},
                        {"NetworkMode": "none"})["Id"]
    eng.start(talker)
    eng.wait(talker)
    eventually(lambda: eng.exec_start(eng.exec_create(writer, {"Cmd": ["test", "-e",
                                                                       "/done"]})) == 0)
    usage = disk_usage(eng, eng.images.store.list())
    assert [i["Containers"] for i in usage["Images"]] == [2]
    assert usage["LayersSize"] > 500_000  # busybox-static and its links
    sizes = {c["Names"][0]: c["SizeRw"] for c in usage["Containers"]}
    assert 3 * (1 << 20) <= sizes["/writer"] < 4 * (1 << 20)
    logs = {lg["Names"][0]: lg for lg in usage["Logs"]}
    # seq 1 50000 prints 288894 bytes; each json-file line adds ~60 bytes of framing
    assert logs["/talker"]["Files"] == 1 and logs["/talker"]["Size"] > 288_894
    rows = {r["Type"]: r for r in summary_rows(usage)}
    assert rows["Images"]["TotalCount"] == "1" and rows["Images"]["Active"] == "1"
    assert rows["Containers"]["TotalCount"] == "2" and rows["Containers"]["Active"] == "1"
    assert rows["Container Logs"]["Reclaimable"].endswith("%)")
    text = render_df(usage, None, True)
    for section in ("Images space usage:", "Containers space usage:",
                    "Local Volumes space usage:", "Build cache usage: 0B",
                    "Container logs space usage:"):
        assert section in text
    assert '"sh -c dd if=/dev/ze…"' in text  # docker's 20-character command column


@pytest.mark.parametrize("fmt", ["{{.Type}}: {{.Size}}", "table {{.Type}}\t{{.TotalCount}}"])
def test_format(fmt: str) -> None:
    usage = {"LayersSize": 2_000_000, "Images": [{"Size": 2_000_000, "SharedSize": 0,
                                                  "Containers": 0}],
             "Containers": [], "Volumes": [], "BuildCache": [], "Logs": []}
    out = render_df(usage, fmt, False)
    if fmt.startswith("table"):
        assert out.splitlines()[0].split() == ["TYPE", "TOTAL"]
        assert out.splitlines()[1].split() == ["Images", "1"]
    else:
        assert out.splitlines()[0] == "Images: 2MB"
    rows = summary_rows(usage)
    assert rows[0]["Reclaimable"] == "2MB (100%)"
