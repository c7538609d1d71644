"""The environment and /etc/hosts of a RUN step, as BuildKit gives them."""

from __future__ import annotations

import pytest

from dockyard.engine.build_run import HOSTS, process_env


@pytest.mark.parametrize("spec_env, env, home, want", [
    (["PATH=/bin", "HOSTNAME=buildkitsandbox"], {}, "/root", ["PATH=/bin", "HOME=/root"]),
    (["PATH=/bin", "HOSTNAME=x", "HOME=/mine"], {"HOME": "/mine"}, "/root",
     ["PATH=/bin", "HOME=/mine"]),
    (["HOSTNAME=set-by-env"], {"HOSTNAME": "set-by-env"}, "/home/t",
     ["HOSTNAME=set-by-env", "HOME=/home/t"]),
    (["PATH=/bin"], {}, "", ["PATH=/bin", "HOME=/"]),
])
def test_process_env(spec_env: list[str], env: dict[str, str], home: str,
                     want: list[str]) -> None:
    assert process_env(spec_env, env, home) == want


def test_hosts_file_is_buildkits() -> None:
    assert HOSTS == "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost " \
                    "ip6-loopback\n"
