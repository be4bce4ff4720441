"""`make run`'s supervisor restarts a child that dies instead of stopping everything (real processes)."""
from __future__ import annotations

import os
import sys
import threading
import time

from webapp.devserver import Child, Supervisor


def test_a_child_that_dies_is_started_again_with_backoff_and_the_others_keep_running(tmp_path):
    starts = tmp_path / "starts"
    flaky = Child("flaky", [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x')"], dict(os.environ),
                  tmp_path)
    steady = Child("steady", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ), tmp_path)
    lines: list[str] = []
    supervisor = Supervisor([flaky, steady], log=lambda line, **_: lines.append(line))
    thread = threading.Thread(target=supervisor.run, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while (not starts.exists() or len(starts.read_text()) < 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    steady_pid = steady.process.pid
    supervisor.stopping = True
    thread.join(timeout=20)
    assert len(starts.read_text()) >= 3 and flaky.restarts >= 2
    assert "flaky exited with code 0" in lines[0] and "restarting it in 1 s" in lines[0]
    assert "restarting it in 2 s" in lines[1]  # it keeps dying: the wait doubles
    assert steady.restarts == 0 and steady.process.pid == steady_pid  # never touched
    assert steady.process.poll() is not None  # and stopped with the supervisor
