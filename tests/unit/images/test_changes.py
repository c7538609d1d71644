"""``--change`` instructions applied to an image config like docker does."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.images.changes import apply_changes


@pytest.mark.parametrize(("changes", "want"), [
    (['CMD ["sh", "-c", "echo"]'], {"Cmd": ["sh", "-c", "echo"]}),
    (["CMD echo hi"], {"Cmd": ["/bin/sh", "-c", "echo hi"]}),
    (['ENTRYPOINT ["/bin/app"]'], {"Entrypoint": ["/bin/app"]}),
    (["ENV A=1 B=two"], {"Env": ["A=1", "B=two"]}),
    (["ENV A 1 2"], {"Env": ["A=1 2"]}),
    (["ENV A=1", "ENV A=2"], {"Env": ["A=2"]}),
    (['ENV A="x y"'], {"Env": ["A=x y"]}),
    (["EXPOSE 80 53/udp"], {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}),
    (["LABEL a=b c=d"], {"Labels": {"a": "b", "c": "d"}}),
    (["USER 1000:1000"], {"User": "1000:1000"}),
    (["VOLUME /data /logs"], {"Volumes": {"/data": {}, "/logs": {}}}),
    (['VOLUME ["/data"]'], {"Volumes": {"/data": {}}}),
    (["WORKDIR /app", "WORKDIR sub"], {"WorkingDir": "/app/sub"}),
    (["cmd sh"], {"Cmd": ["/bin/sh", "-c", "sh"]}),
])
def test_changes(changes: list[str], want: dict[str, Any]) -> None:
    assert apply_changes({}, changes) == want


def test_changes_do_not_touch_the_input() -> None:
    base = {"Env": ["A=1"]}
    assert apply_changes(base, ["ENV B=2"]) == {"Env": ["A=1", "B=2"]}
    assert base == {"Env": ["A=1"]}


@pytest.mark.parametrize(("change", "match"), [
    ("RUN echo", "unsupported instruction RUN"), ("", "unsupported instruction"),
    ("FROM x", "unsupported instruction FROM"), ("CMD", "CMD needs an argument"),
    ("EXPOSE 99999", "invalid port '99999'"), ("EXPOSE 80/icmp", "invalid port"),
    ("ENV =x", "wants key=value"), ("LABEL a", "needs a value"), ('ENV A="x', "quotation"),
])
def test_bad_changes_name_the_instruction(change: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match) as info:
        apply_changes({}, [change])
    assert str(info.value).startswith("--change")
