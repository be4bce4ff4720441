"""Every benchmark with its defaults, one after the other (`make bench`). Prints numbers; asserts nothing.

    python bench/run_all.py
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = ("rq_noop.py", "pipeline.py", "providers.py", "templates.py", "campaign.py")
TIME_LIMIT = 15 * 60  # seconds per benchmark; the defaults take a few minutes


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench/{name}", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run([sys.executable, str(BENCH / name)], cwd=BENCH.parent, timeout=TIME_LIMIT).returncode
        except subprocess.TimeoutExpired:
            code = "timed out"
        print(f"=== bench/{name}: {'ok' if code == 0 else f'failed ({code})'} in {time.monotonic() - started:.0f} s",
              flush=True)
        if code != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
