"""Identifiers of the demo district.

Org units, users and consoles get name-based ids (uuid5) so that they stay the
same whatever the seed: ``demo_users()`` takes no seed and must still point at
the org units ``generate_records`` yields. Everything else draws its id from the
seeded random stream, which keeps a run reproducible and two seeds disjoint.
"""

from __future__ import annotations

import random
import uuid

NAMESPACE = uuid.UUID("6d0c2e4a-7f1b-5c3d-9e2a-202611230800")

_VERSION_MASK = ~(0xF000 << 64) & ((1 << 128) - 1)
_VARIANT_MASK = ~(0xC000 << 48) & ((1 << 128) - 1)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


def stable_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def org_id(code: str) -> str:
    return stable_id("org_unit", code)


def user_id(username: str) -> str:
    return stable_id("user", username)


def device_id(name: str) -> str:
    return stable_id("device", name)


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))`` without building the object.

    The history stream formats hundreds of thousands of ids a second; the
    UUID constructor is the single largest cost there.
    """
    n = (bits & _VERSION_MASK & _VARIANT_MASK) | _V4_BITS
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_id(rng: random.Random) -> str:
    return uuid4_text(rng.getrandbits(128))
