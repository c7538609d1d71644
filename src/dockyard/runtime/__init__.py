"""OCI runtime: turns a bundle (config.json + rootfs) into a confined process.

Standard library, ctypes and libseccomp only: this is the hot path of every start.
Shipped as the runc-compatible ``dockyard-runtime`` command (``runtime/cli``)."""
