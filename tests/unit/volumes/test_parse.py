"""Mount syntaxes against docker 20.10's own messages (recorded from a real dockerd and
the docker 20.10 CLI on this machine)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument
from dockyard.volumes.parse import (
    MountPoint,
    check_volume_name,
    parse_bind,
    parse_mount_flag,
    parse_mount_spec,
    parse_tmpfs_flag,
    parse_volumes_from,
    ram_in_bytes,
    tmpfs_data,
    valid_mode,
    validate_tmpfs,
)

BAD_BINDS = [
    ("/x:rw", "invalid volume specification: '/x:rw'"),
    ("/tmp:/x:bogus", "invalid mode: bogus"),
    ("/tmp:/x:ro,rw", "invalid mode: ro,rw"),
    ("v1:/x:shared", "invalid volume specification: 'v1:/x:shared': invalid mount config "
     'for type "volume": field BindOptions must not be specified'),
    ("/tmp:/x:nocopy", "invalid volume specification: '/tmp:/x:nocopy': invalid mount "
     'config for type "bind": field VolumeOptions must not be specified'),
    ("a:b:c:d:e", "invalid volume specification: 'a:b:c:d:e'"),
    ("/tmp:/", "invalid volume specification: '/tmp:/': invalid mount config for type "
     "\"bind\": invalid specification: destination can't be '/'"),
    ("/tmp:rel", "invalid volume specification: '/tmp:rel': invalid mount config for type "
     "\"bind\": invalid mount path: 'rel' mount path must be absolute"),
    (":/x", "invalid volume specification: ':/x'"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_BINDS)
def test_bad_binds_give_dockers_message(raw: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_bind(raw)
    assert str(err.value) == message


@pytest.mark.parametrize(("raw", "want"), [
    ("v1:/data", dict(type="volume", name="v1", destination="/data", rw=True, mode="")),
    ("/host:/c:ro", dict(type="bind", source="/host", destination="/c", rw=False,
                         mode="ro", propagation="rprivate", create_host_dir=True)),
    ("/host/../h//x/:/c/./d/:rshared", dict(type="bind", source="/h/x", destination="/c/d",
                                              propagation="rshared", rw=True)),
    ("v:/d:nocopy", dict(type="volume", copy_data=False)),
    ("v:/d:ro,z", dict(type="volume", rw=False, mode="ro,z", copy_data=True)),
    ("/a:/b:Z,rslave,rw", dict(propagation="rslave", rw=True)),
    ("/data", dict(type="volume", name="", destination="/data")),
])
def test_good_binds(raw: str, want: dict[str, object]) -> None:
    mp = parse_bind(raw)
    for key, value in want.items():
        assert getattr(mp, key) == value, key


BAD_MOUNT_FLAGS = [
    ("type=bind,src=/tmp,target=/x,foo=bar", "unexpected key 'foo' in 'foo=bar'"),
    ("type=tmpfs,target=/x,tmpfs-sise=1m", "unexpected key 'tmpfs-sise' in 'tmpfs-sise=1m'"),
    ("source=/tmp", "target is required"),
    ("type=volume,src=vv,target=/x,bind-propagation=shared",
     "cannot mix 'bind-*' options with mount type 'volume'"),
    ("type=bind,src=/x,target=/y,volume-nocopy", "cannot mix 'volume-*' options with mount "
     "type 'bind'"),
    ("type=volume,target=/y,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type "
     "'volume'"),
    ("type=bind,target=/x,readonly=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid value for tmpfs-size: lots"),
    ("type=tmpfs,target=/x,tmpfs-mode=999", "invalid value for tmpfs-mode: 999"),
    ("type=volume,target=/x,volume-nocopy=perhaps", "invalid value for volume-nocopy: "
     "perhaps"),
    ("type=volume,target", "invalid field 'target' must be a key=value pair"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MOUNT_FLAGS)
def test_bad_mount_flags_give_the_clis_message(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_mount_flag(text)
    assert str(err.value) == f'invalid argument "{text}" for "--mount" flag: {message}'


def test_mount_flag_keys_and_aliases() -> None:
    m = parse_mount_flag("type=bind,src=/tmp,dst=/bt,bind-propagation=RSLAVE,ro")
    assert m == {"Type": "bind", "Source": "/tmp", "Target": "/bt", "ReadOnly": True,
                 "BindOptions": {"Propagation": "rslave"}}
    m = parse_mount_flag("target=/v4,source=v4,volume-nocopy,volume-opt=type=tmpfs,"
                         "volume-label=a=b,volume-driver=local")
    assert m == {"Type": "volume", "Source": "v4", "Target": "/v4",
                 "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                                   "DriverConfig": {"Name": "local",
                                                    "Options": {"type": "tmpfs"}}}}
    m = parse_mount_flag('type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1700')
    assert m["TmpfsOptions"] == {"SizeBytes": 1 << 20, "Mode": 0o1700}
    assert parse_mount_flag('"type=bind","source=/a,b",target=/c')["Source"] == "/a,b"
    assert parse_mount_flag("src=v,target=/b,volume-nocopy")["VolumeOptions"] == {
        "NoCopy": True, "DriverConfig": {}}
    assert parse_mount_flag("type=bind,src=/a,target=/b,bind-nonrecursive")[
        "BindOptions"] == {"NonRecursive": True}


BAD_SPECS = [
    ({"Type": "bind", "Source": "rel", "Target": "/x"},
     'invalid mount config for type "bind": invalid mount path: \'rel\' mount path must be '
     "absolute"),
    ({"Type": "bind", "Source": "/nonexist-dy", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist: /nonexist-dy'),
    ({"Type": "volume", "Target": "/x", "ReadOnly": True},
     'invalid mount config for type "volume": must not set ReadOnly mode when using '
     "anonymous volumes"),
    ({"Type": "bind", "Target": "/x"},
     'invalid mount config for type "bind": field Source must not be empty'),
    ({"Type": "foo", "Target": "/x"}, 'invalid mount config for type "foo": mount type '
     "unknown"),
    ({"Type": "bind", "Source": "/tmp", "Target": "/x",
      "BindOptions": {"Propagation": "bogus"}},
     'invalid mount config for type "bind": invalid propagation mode: bogus'),
    ({"Type": "bind", "Source": "/tmp", "Target": "/"},
     'invalid mount config for type "bind": invalid specification: destination can\'t be '
     "'/'"),
    ({"Type": "bind", "Source": "/tmp", "Target": "x"},
     'invalid mount config for type "bind": invalid mount path: \'x\' mount path must be '
     "absolute"),
    ({"Type": "tmpfs", "Source": "/tmp", "Target": "/x"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "volume", "Target": ""},
     'invalid mount config for type "volume": field Target must not be empty'),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_mount_specs_give_dockerds_message(spec: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_mount_spec(spec, exists=lambda p: p == "/tmp")
    assert str(err.value) == message


def test_mount_spec_inspect_shapes() -> None:
    bind = parse_mount_spec({"Type": "bind", "Source": "/tmp", "Target": "/bt",
                             "ReadOnly": True, "BindOptions": {"Propagation": "rslave"}})
    assert bind.inspect() == {"Type": "bind", "Source": "/tmp", "Destination": "/bt",
                              "Mode": "", "RW": False, "Propagation": "rslave"}
    tmpfs = parse_mount_spec({"Type": "tmpfs", "Target": "/t",
                              "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1700}})
    assert tmpfs.inspect() == {"Type": "tmpfs", "Source": "", "Destination": "/t",
                               "Mode": "", "RW": True, "Propagation": ""}
    assert tmpfs.tmpfs == "size=1m,mode=1700"
    assert MountPoint.from_json(bind.to_json()) == bind


@pytest.mark.parametrize(("opts", "ro", "data"), [
    ({"SizeBytes": 1536 * 1024}, False, "size=1536k"),
    ({"SizeBytes": 3 << 30}, False, "size=3g"),
    ({"SizeBytes": 1000}, False, "size=1000"),
    ({"Mode": 0o700}, True, "mode=700,ro"),
    ({}, False, ""),
])
def test_tmpfs_data(opts: dict[str, int], ro: bool, data: str) -> None:
    assert tmpfs_data(opts, ro) == data


@pytest.mark.parametrize(("dest", "data", "message"), [
    ("/x", "sise=1m", 'invalid tmpfs option ["sise" "1m"]'),
    ("/x", "size=1m,bogus", 'invalid tmpfs option ["bogus"]'),
    ("rel", "", "invalid mount path: 'rel' mount path must be absolute"),
    ("/", "", "invalid specification: destination can't be '/'"),
])
def test_bad_tmpfs(dest: str, data: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_tmpfs(dest, data)
    assert str(err.value) == message


def test_good_tmpfs() -> None:
    validate_tmpfs("/run", "rw,noexec,nosuid,size=64m,mode=1777,uid=1,gid=2,nr_inodes=10")
    assert parse_tmpfs_flag("/run:size=1m,mode=700") == ("/run", "size=1m,mode=700")
    assert parse_tmpfs_flag("/run") == ("/run", "")


@pytest.mark.parametrize(("spec", "result"), [
    ("c1", ("c1", "rw")), ("c1:ro", ("c1", "ro")), ("c1:rw,z", ("c1", "rw,z")),
])
def test_volumes_from(spec: str, result: tuple[str, str]) -> None:
    assert parse_volumes_from(spec) == result


@pytest.mark.parametrize(("spec", "message"), [
    ("c1:shared", "invalid mode: shared"), ("c1:bogus", "invalid mode: bogus"),
    ("c1:nocopy", "invalid mode: nocopy"),
    ("", "volumes-from specification cannot be an empty string"),
])
def test_bad_volumes_from(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_volumes_from(spec)
    assert str(err.value) == message


@pytest.mark.parametrize(("name", "message"), [
    ("x/y", 'create x/y: "x/y" includes invalid characters for a local volume name, only '
     '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
     "use absolute path"),
    ("a", "create a: volume name is too short, names should be at least two alphanumeric "
     "characters"),
])
def test_volume_names(name: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_volume_name(name)
    assert str(err.value) == message


def test_ram_in_bytes() -> None:
    assert ram_in_bytes("64m") == 64 << 20
    assert ram_in_bytes("1.5KiB") == 1536
    assert ram_in_bytes("10") == 10
    with pytest.raises(ValueError):
        ram_in_bytes("x")


WORDS = ["rw", "ro", "z", "Z", "private", "rprivate", "shared", "rshared", "slave",
         "rslave", "nocopy", "bogus", ""]
KINDS = [{"rw", "ro"}, {"z", "Z"},
         {"private", "rprivate", "shared", "rshared", "slave", "rslave"}, {"nocopy"}]


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
def test_valid_mode_model(words: list[str]) -> None:
    mode = ",".join(words)
    expected = mode == "" or (all(w and w != "bogus" for w in words) and
                              all(sum(w in k for w in words) <= 1 for k in KINDS))
    assert valid_mode(mode) == expected


PATH = st.lists(st.text(string.ascii_letters + "._-", min_size=1, max_size=6), min_size=1,
                max_size=4).map(lambda p: "/" + "/".join(p))


@given(PATH, PATH, st.sampled_from(["", "ro", "rw", "z", "ro,Z", "rslave", "shared,ro"]))
def test_bind_round_trip(src: str, dst: str, mode: str) -> None:
    import posixpath

    raw = f"{src}:{dst}" + (f":{mode}" if mode else "")
    if posixpath.normpath(dst) == "/":
        return
    mp = parse_bind(raw)
    assert mp.type == "bind"
    assert mp.source == posixpath.normpath(src)
    assert mp.destination == posixpath.normpath(dst)
    assert mp.rw == ("ro" not in mode.split(","))
    assert mp.mode == mode
    prop = [w for w in mode.split(",") if w in ("rslave", "shared")]
    assert mp.propagation == (prop[0] if prop else "rprivate")


@given(st.text(max_size=40))
def test_mount_flag_never_crashes(text: str) -> None:
    try:
        m = parse_mount_flag(text)
    except InvalidArgument as err:
        assert str(err).startswith(f'invalid argument "{text}" for "--mount" flag: ')
    else:
        assert m["Target"]
