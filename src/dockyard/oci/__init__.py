"""OCI and Docker data types: image manifests, indexes, configs, descriptors, digests,
media types, platforms, and the runtime spec (config.json). Plain data, standard library
only, no I/O beyond (de)serialising."""
