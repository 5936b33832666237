"""A power cut for one directory: build the lossyfs LD_PRELOAD shim, run a process under it,
SIGKILL it, then :func:`power_cut` undoes every write that was never fsynced.

    so = build(tmp_path / "shim")            # cc -shared; None when there is no C compiler
    env = preload_env(so, disk, logs)        # give this to the child process
    ...                                      # the child writes under ``disk``; SIGKILL it
    lost = power_cut(disk, logs)             # what a power cut at that instant would leave

See lossyfs.c for what is recorded. The shm file of a SQLite WAL database is memory-mapped,
not written through write(); a power cut leaves it in an unknown state, so power_cut()
removes it and SQLite rebuilds the index from the WAL on the next open, exactly as it does
after a real crash (it never trusts a -shm it finds on a fresh start).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import struct
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE / "lossyfs.c"
_HEAD = struct.Struct("=cqqq")  # kind, offset, size before, n old bytes (native, as the C side writes)


def compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def build(folder: pathlib.Path) -> pathlib.Path | None:
    """Compile the shim into ``folder``; None when the machine has no C compiler."""
    cc = compiler()
    if cc is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "lossyfs.so"
    done = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(out), str(SOURCE),
                           "-ldl", "-lpthread"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"building lossyfs failed:\n{done.stderr}")
    return out


def preload_env(shim: pathlib.Path, disk: pathlib.Path, logs: pathlib.Path, env: dict | None = None) -> dict:
    """Environment for a child whose writes under ``disk`` are recorded into ``logs``."""
    disk.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    if logs.resolve().is_relative_to(disk.resolve()):
        raise ValueError("the undo logs must live outside the watched directory")
    out = dict(os.environ if env is None else env)
    out["LD_PRELOAD"] = str(shim)
    out["LOSSYFS_DIR"] = str(disk)
    out["LOSSYFS_LOG"] = str(logs)
    return out


def undo_records(log: pathlib.Path) -> list[tuple[bytes, int, int, bytes]]:
    raw = log.read_bytes()
    out, pos = [], 0
    while pos < len(raw):
        if pos + _HEAD.size > len(raw):
            break  # the shim was killed while writing this record: its write never started
        kind, offset, size, n = _HEAD.unpack_from(raw, pos)
        pos += _HEAD.size
        if pos + n > len(raw):
            break
        out.append((kind, offset, size, raw[pos:pos + n]))
        pos += n
    return out


def power_cut(disk: pathlib.Path, logs: pathlib.Path) -> dict[str, int]:
    """Undo every write not followed by an fsync of its file; returns {file: writes undone}.

    Call only after the writer is dead (SIGKILL). The undo logs are consumed.
    """
    undone: dict[str, int] = {}
    for log in sorted(logs.glob("*.undo")):
        path = pathlib.Path(log.name[: -len(".undo")].replace("%", "/"))
        records = undo_records(log)
        if path.exists() and records:
            with open(path, "r+b") as fh:
                for _kind, offset, size, old in reversed(records):
                    if old:
                        fh.seek(offset)
                        fh.write(old)
                    fh.truncate(size)
                fh.flush()
                os.fsync(fh.fileno())
            undone[str(path)] = len(records)
        log.unlink()
    for shm in disk.rglob("*-shm"):
        shm.unlink()
    return undone
