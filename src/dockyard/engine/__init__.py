"""Container lifecycle: the Docker-shaped model (Config, HostConfig, State...), spec
generation, the per-container monitor, logs. Ties images, runtime, network and volumes."""
