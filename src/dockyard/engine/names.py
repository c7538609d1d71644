"""Random container names in Docker's ``adjective_surname`` style."""

from __future__ import annotations

import os

__all__ = ["random_name"]

_LEFT = ("admiring", "brave", "busy", "calm", "clever", "eager", "focused", "gallant",
         "happy", "jolly", "keen", "loving", "modest", "nifty", "quirky", "serene",
         "sharp", "stoic", "tender", "vibrant", "wizardly", "zealous")
_RIGHT = ("babbage", "curie", "darwin", "euler", "fermi", "galois", "hopper", "hypatia",
          "kepler", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie",
          "shannon", "thompson", "turing", "wozniak", "yonath")


def random_name() -> str:
    """``eager_turing`` plus a short random suffix, so collisions stay rare."""
    r = os.urandom(4)
    return f"{_LEFT[r[0] % len(_LEFT)]}_{_RIGHT[r[1] % len(_RIGHT)]}_{r[2:].hex()}"
