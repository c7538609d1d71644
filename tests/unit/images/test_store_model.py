"""The store against a model: random imports, tags, removals, prunes and gcs keep it
consistent, and it always agrees with a plain dict of name -> image."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dockyard.errors import Conflict, NotFound
from dockyard.images import ImageStore, check, import_rootfs
from dockyard.oci import parse_reference
from dockyard.settings import Roots
from tests.unit.images.conftest import make_tar

# (no hex-like name: "a" would also match an id prefix, as in docker)
NAMES = st.sampled_from(["app", "b:1", "b:2", "me/c", "localhost:5000/d:x"])
CONTENT = st.sampled_from([b"1", b"2", b"3"])


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="dy-model-"))
        self.store = ImageStore(Roots(self.dir / "root", self.dir / "run"))
        self.tags: dict[str, str] = {}  # full name -> image id
        self.images: set[str] = set()
        self.step = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir)

    @rule(name=NAMES, content=CONTENT, tagged=st.booleans())
    def import_(self, name: str, content: bytes, tagged: bool) -> None:
        # ids come from the config, which holds the time: make it a step counter so a
        # replayed example makes the same images
        self.step += 1
        with mock.patch("dockyard.images.importer.now_rfc3339",
                        return_value=f"2026-01-01T00:00:{self.step:02d}Z"):
            img = import_rootfs(self.store, io.BytesIO(make_tar({"f": content})),
                                name if tagged else "")
        self.images.add(str(img.id))
        if tagged:
            self.tags[str(parse_reference(name))] = str(img.id)

    @precondition(lambda self: bool(self.tags))
    @rule(data=st.data(), dest=NAMES)
    def tag(self, data: st.DataObject, dest: str) -> None:
        source = data.draw(st.sampled_from(sorted(self.tags)))
        self.store.tag(source, dest)
        self.tags[str(parse_reference(dest))] = self.tags[source]

    @rule(name=NAMES, force=st.booleans())
    def rmi_by_name(self, name: str, force: bool) -> None:
        full = str(parse_reference(name))
        try:
            out = self.store.remove(name, force=force)
        except NotFound:
            assert full not in self.tags
            return
        image_id = self.tags.pop(full)
        if not any(v == image_id for v in self.tags.values()):
            assert out[-1] == {"Deleted": image_id}
            self.images.discard(image_id)

    @precondition(lambda self: bool(self.images))
    @rule(data=st.data(), force=st.booleans())
    def rmi_by_id(self, data: st.DataObject, force: bool) -> None:
        image_id = data.draw(st.sampled_from(sorted(self.images)))
        names = [n for n, v in self.tags.items() if v == image_id]
        repos = {n.rsplit(":", 1)[0] for n in names}
        try:
            self.store.remove(image_id[7:19], force=force)
        except Conflict:
            assert len(repos) > 1 and not force
            return
        for n in names:
            del self.tags[n]
        self.images.discard(image_id)

    @rule(all_=st.booleans())
    def prune(self, all_: bool) -> None:
        self.store.prune(all=all_)
        if all_:  # nothing uses any image: all go, with their names
            self.tags.clear()
        self.images &= set(self.tags.values())

    @rule()
    def gc(self) -> None:
        self.store.gc()
        held = self.store.records.referenced_blobs()
        assert {str(d) for d in self.store.content.walk()} <= held

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert {str(i.id) for i in self.store.list()} == self.images
        for name, image_id in self.tags.items():
            assert str(self.store.resolve(name).id) == image_id
        assert check(self.store).clean


StoreModel.TestCase.settings = settings(max_examples=15, stateful_step_count=10,
                                        deadline=None)
test_store_model = StoreModel.TestCase
