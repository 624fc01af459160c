"""Per-client random streams, derived from ``(seed, client index)``.

Every client draws from its own :class:`random.Random`, seeded from a BLAKE2b
hash of the run seed, the client index and a purpose label. A client's draws
therefore never depend on which worker simulates it, in which chunk, or in what
order: the stdlib equivalent of numpy's ``SeedSequence(seed, spawn_key=(i,))``
(docs/references.md#simulation-figures, reproducibility).
"""

from __future__ import annotations

import hashlib
import random

from . import _checks as checks

__all__ = ["client_stream", "replicate_seed"]


def _derive(*parts: object) -> int:
    text = ":".join(str(p) for p in ("treatplan-sim", *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")


def client_stream(seed: int, index: int, purpose: str = "clinical") -> random.Random:
    """The random stream of client ``index`` in a run seeded ``seed``, for one purpose.

    ``purpose`` separates independent streams of the same client (``"intake"``
    for the waiting-list pass, ``"clinical"`` for the episode itself).
    """
    if (
        type(seed) is int
        and type(index) is int
        and type(purpose) is str
        and -checks.MAX_SEED <= seed <= checks.MAX_SEED
        and 0 <= index <= checks.MAX_SEED
    ):
        # What the checks below accept, asked in one expression, and _derive's text
        # written directly: a run makes one or two streams per client, and the parent
        # process makes every client's intake stream itself (its share of the run).
        text = f"treatplan-sim:{seed}:{index}:{purpose}"
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        return random.Random(int.from_bytes(digest, "big"))
    checks.seed(seed)
    checks.integer("index", index, 0, checks.MAX_SEED)
    checks.instance("purpose", purpose, str, "a purpose label (a str)")
    return random.Random(_derive(seed, index, purpose))


def replicate_seed(seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` of a run seeded ``seed`` (replicate 0 is ``seed``)."""
    checks.seed(seed)
    checks.integer("replicate", replicate, 0, checks.MAX_REPLICATES)
    if replicate == 0:
        return seed
    return _derive(seed, "replicate", replicate) % (2**63)
