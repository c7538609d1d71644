"""Dockerfile builder: parser, shell-word expansion, .dockerignore, stage execution
with a content-keyed cache."""
