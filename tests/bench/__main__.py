"""Run benchmarks: ``python -m tests.bench [NAME ...]`` (``make bench ARGS="map sync"``).

With no names, the ones that finish in minutes run; ``all`` adds those that first build a
million-row cache (duty_log, resources: several minutes the first time, cached under /tmp).
Each runs in its own process, so one's memory and Qt state never colour another's figures.
"""

from __future__ import annotations

import subprocess
import sys

QUICK = ("startup", "store", "sync", "sync_stall", "server", "incidents", "handover", "report_signoff",
         "map", "video", "audio")
SLOW = ("duty_log", "resources")


def main(argv: list[str]) -> int:
    names = list(QUICK + SLOW) if argv == ["all"] else argv or list(QUICK)
    unknown = [n for n in names if n not in QUICK + SLOW]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(QUICK + SLOW)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n== bench_{name} ==", flush=True)
        if subprocess.run([sys.executable, "-m", f"tests.bench.bench_{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
