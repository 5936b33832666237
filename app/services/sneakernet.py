"""Carrying the outbox out by hand when a site is cut off for days (USB stick, courier).

The file holds every mutation not yet confirmed, signed with the device key the
server handed out at sign-in; the server imports it through the same ledger as a
push, so importing it twice, or pushing the same mutations later, changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from app.services.context import AppContext
from app.store import outbox
from app.store.kv import kv_get
from app.sync.wire import MAX_MUTATIONS, SCHEMA_VERSION, outbox_signature

DEVICE_KEY = "device_key"


class NoDeviceKey(Exception):
    """This console has never signed in online, so it has no key to sign the file with."""


def export_outbox(ctx: AppContext, folder: Path) -> list[Path]:
    """Write the unconfirmed mutations as signed files of at most 500 each (the server's
    batch limit), named in device_seq order: import them on the server in that order."""
    key = ctx.store.read(kv_get, DEVICE_KEY)
    if not key:
        raise NoDeviceKey("sign in online once before exporting")
    rows = ctx.store.read(outbox.next_batch, 10_000_000)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, len(rows), MAX_MUTATIONS):
        mutations = [outbox.to_wire(r) for r in rows[start:start + MAX_MUTATIONS]]
        first, last = mutations[0]["device_seq"], mutations[-1]["device_seq"]
        path = folder / f"outbox-{ctx.device_id[:8]}-{first:08d}-{last:08d}.json"
        _write_atomically(path, {
            "device_id": ctx.device_id, "schema_version": SCHEMA_VERSION, "mutations": mutations,
            "signature": outbox_signature(key, ctx.device_id, SCHEMA_VERSION, mutations)})
        paths.append(path)
    return paths


def _write_atomically(path: Path, doc: dict) -> None:
    tmp = Path(str(path) + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # a half-written file never carries the real name
