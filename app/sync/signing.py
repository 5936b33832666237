"""Device keys, the outbox hash chain and the push signature (SYNC_RESEARCH.md §3.13, §5).

Shared by the console and the server; the byte layouts here are part of the protocol
(docs/protocol.md "Device signatures and the push hash chain").

* Chain: app.domain.outbox_chain (the console's outbox, below app.sync, uses it too).
* Signature: Ed25519 over ``b"command-desk/push/v1|" + device_id + b"|" + last_hash`` where
  ``last_hash`` is the ``hash`` of the batch's last mutation; base64 on the wire
  (``batch_sig``), the public key too (raw 32 bytes, ``device_public_key``).
* Key at rest: the console's private key is a PKCS#8 PEM file beside the cache
  (``<cache>.device-key``), created with mode 0600. These machines have no OS keyring, so
  file permissions are the protection; the key never enters the synced tables.
"""

from __future__ import annotations

import base64
import binascii
import os
import pathlib
import threading
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.domain.outbox_chain import GENESIS, canonical_mutation, chain_hash, link

__all__ = ["GENESIS", "DeviceKey", "canonical_mutation", "chain_hash", "link", "verify_batch"]

KEY_SUFFIX = ".device-key"


def batch_message(device_id: str, last_hash: str) -> bytes:
    return f"command-desk/push/v1|{device_id}|{last_hash}".encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def public_key_bytes(public_b64: str) -> bytes | None:
    """The raw 32-byte key from its base64 form, or None when it is not one."""
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    return raw if len(raw) == 32 else None


def verify_batch(public_b64: str, device_id: str, last_hash: str, sig_b64: str | None) -> bool:
    """Does ``sig_b64`` sign this device's batch ending at ``last_hash`` under ``public_b64``?"""
    raw = public_key_bytes(public_b64)
    if raw is None or not sig_b64:
        return False
    try:
        sig = base64.b64decode(sig_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, batch_message(device_id, last_hash))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


class DeviceKey:
    """This console's Ed25519 key pair."""

    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_b64 = _b64(raw)

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: pathlib.Path | str) -> DeviceKey:
        """The key in ``path``; a new one written there (mode 0600) when the file does not exist."""
        path = pathlib.Path(path)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            key = cls.generate()
            pem = key._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process of this console won the race: use its key
                return cls.load_or_create(path)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            return key
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 key")
        return cls(private)

    def sign(self, device_id: str, last_hash: str) -> str:
        return _b64(self._private.sign(batch_message(device_id, last_hash)))


def key_path(cache_path: pathlib.Path | str) -> pathlib.Path:
    """Where the device key of the cache at ``cache_path`` lives."""
    p = pathlib.Path(cache_path)
    return p.with_name(p.name + KEY_SUFFIX)


# The keys of the caches this process has open, by device id. The transport looks a key up
# by the device_id it is sending (login, refresh, push); a console without one (an old cache
# opened by a tool, a test client) simply sends no key and no signature.
_KEYS: dict[str, DeviceKey] = {}
_KEYS_LOCK = threading.Lock()


def install(device_id: str, key: DeviceKey) -> None:
    with _KEYS_LOCK:
        _KEYS[device_id] = key


def key_for(device_id: str | None) -> DeviceKey | None:
    return _KEYS.get(device_id) if device_id else None


def forget(device_id: str) -> None:
    with _KEYS_LOCK:
        _KEYS.pop(device_id, None)


def with_public_key(body: dict[str, Any]) -> dict[str, Any]:
    """A login/refresh body with ``device_public_key`` when this process holds the device's key."""
    key = key_for(body.get("device_id"))
    return body if key is None else dict(body, device_public_key=key.public_b64)


def sign_push_body(body: dict[str, Any]) -> dict[str, Any]:
    """Add ``batch_sig`` to a push body when this process holds the device's key and the
    mutations carry their chain hashes; otherwise return the body as it is."""
    key = key_for(body.get("device_id"))
    mutations = body.get("mutations") or []
    if key is None or not mutations or not mutations[-1].get("hash") or "batch_sig" in body:
        return body
    # A prev_hash equal to the hash of the mutation just before it in the batch says nothing the
    # server cannot fill in: left out, a batch is ~15% smaller to send, parse and validate.
    before = None
    slim = []
    for m in mutations:
        if (before is not None and m.get("prev_hash") is not None and m.get("prev_hash") == before.get("hash")
                and m.get("device_seq") == before.get("device_seq", 0) + 1):
            m = {k: v for k, v in m.items() if k != "prev_hash"}
        slim.append(m)
        before = m
    return dict(body, mutations=slim, batch_sig=key.sign(body["device_id"], mutations[-1]["hash"]))
