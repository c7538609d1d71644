"""Volumes: named volumes, bind and tmpfs mounts, safe copy in and out."""
