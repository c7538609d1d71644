"""Validate documents against the OCI image-spec JSON Schemas (draft 4) kept in
``../shared/conformance/oci-image-schema/`` next to the repository."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "../shared/conformance/oci-image-schema"
FILES = {"manifest": "image-manifest-schema.json", "index": "image-index-schema.json",
         "config": "config-schema.json", "layout": "image-layout-schema.json",
         "descriptor": "content-descriptor.json"}


@cache
def _validator(kind: str) -> Any:
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    resources = []
    for path in SCHEMA_DIR.glob("*.json"):
        res = DRAFT4.create_resource(json.loads(path.read_text()))
        # Schemas refer to siblings by file name, relative to ids at two depths.
        for base in ("https://opencontainers.org/schema/",
                     "https://opencontainers.org/schema/image/"):
            resources.append((base + path.name, res))
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMA_DIR / FILES[kind]).read_text())
    return jsonschema.Draft4Validator(schema, registry=registry,
                                      format_checker=jsonschema.FormatChecker())


def validate(kind: str, document: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` is a valid ``kind``."""
    if isinstance(document, bytes | str):
        document = json.loads(document)
    _validator(kind).validate(document)
