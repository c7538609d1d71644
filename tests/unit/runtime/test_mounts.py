"""Mount option words to mount(2) flags, propagation and data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidConfig
from dockyard.runtime import mounts as m


def test_common_words() -> None:
    o = m.parse_options(["nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k"])
    assert o.flags == m.MS_NOSUID | m.MS_NOEXEC | m.MS_NODEV | m.MS_RDONLY
    assert o.data == "mode=755,size=65536k"
    assert not o.bind and o.propagation == ()


def test_bind_rbind_and_propagation() -> None:
    o = m.parse_options(["rbind", "ro", "rprivate"])
    assert o.bind and o.recursive
    assert o.flags & m.MS_BIND and o.flags & m.MS_REC
    assert o.remount_flags == m.MS_RDONLY
    assert o.propagation == (m.MS_PRIVATE | m.MS_REC,)
    assert m.parse_options(["bind"]).remount_flags == 0


def test_later_words_win() -> None:
    assert m.parse_options(["ro", "rw"]).flags & m.MS_RDONLY == 0
    assert m.parse_options(["rw", "ro"]).flags & m.MS_RDONLY
    assert m.parse_options(["noexec", "exec"]).flags & m.MS_NOEXEC == 0


@pytest.mark.parametrize("bad", ["a,b", "", "idmap", "ridmap=0:1:2"])
def test_bad_words_are_refused(bad: str) -> None:
    with pytest.raises(InvalidConfig) as err:
        m.parse_options(["ro", bad], "mounts[3].options")
    assert "mounts[3].options" in str(err.value)


@given(st.lists(st.sampled_from(m.known_options()), max_size=12))
def test_known_words_never_become_data(words: list[str]) -> None:
    o = m.parse_options(words)
    assert o.data == ""
    assert o.bind == any(w in ("bind", "rbind") for w in words)
    if "ro" in words or "rw" in words:
        last = max(i for i, w in enumerate(words) if w in ("ro", "rw"))
        assert bool(o.flags & m.MS_RDONLY) == (words[last] == "ro")


@given(st.lists(st.from_regex(r"[a-z]+=[a-z0-9]+", fullmatch=True), max_size=5))
def test_data_words_are_kept_in_order(words: list[str]) -> None:
    assert m.parse_options(words).data == ",".join(words)
