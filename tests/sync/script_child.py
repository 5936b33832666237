"""Any Python child process for the fault tests, with its own environment (``expect`` as for
faults.Child): power_child.py under the lossyfs shim, huge_child.py, soak_child.py."""

from __future__ import annotations

import os
import pathlib
import selectors
import subprocess
import sys

from faults import Child

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class ScriptChild(Child):
    """``stderr_log``: the child's stderr goes to this file (a long run's warnings would fill a
    pipe and block the child); expect() still quotes it when the child dies."""

    def __init__(self, args: list[str], env: dict | None = None, stderr_log: pathlib.Path | None = None):
        env = dict(os.environ if env is None else env, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
        err = open(stderr_log, "ab") if stderr_log else subprocess.PIPE  # noqa: SIM115 - closed below
        self.proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=err)
        if stderr_log:
            err.close()
            self.proc.stderr = open(stderr_log, "rb")  # noqa: SIM115 - Child.kill closes it
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self._buf = b""
        self.lines: list[str] = []

    def pump(self) -> list[str]:
        """Read whatever the child has printed so far, without waiting; returns the new lines."""
        new: list[str] = []
        while self._sel.select(0):
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            self._buf += chunk
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            new.append(line.decode(errors="replace"))
        self.lines.extend(new)
        return new

    def kill(self) -> None:
        """SIGKILL, then keep every line it printed before dying."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._buf += self.proc.stdout.read() or b""
        *complete, _partial = self._buf.split(b"\n")  # a line cut short by the kill was never shown
        self.lines.extend(line.decode(errors="replace") for line in complete)
        self._buf = b""
        super().kill()
