"""The Docker Engine API server (aiohttp on a unix socket), a face of the engine."""
