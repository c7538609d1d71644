"""Random container names in Docker's ``adjective_surname`` style."""

from __future__ import annotations

import secrets

__all__ = ["random_name"]

_LEFT = ("admiring", "brave", "busy", "calm", "clever", "eager", "focused", "gallant",
         "happy", "jolly", "keen", "loving", "modest", "nifty", "quirky", "serene",
         "sharp", "stoic", "tender", "vibrant", "wizardly", "zealous")
_RIGHT = ("babbage", "curie", "darwin", "euler", "fermi", "galois", "hopper", "hypatia",
          "kepler", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie",
          "shannon", "thompson", "turing", "wozniak", "yonath")


def random_name() -> str:
    """``eager_turing`` plus a short random suffix, so collisions stay rare."""
    return f"{secrets.choice(_LEFT)}_{secrets.choice(_RIGHT)}_{secrets.token_hex(2)}"
