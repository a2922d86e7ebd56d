"""durabletask's in-memory backend as a process of its own: ``python -m engine.durable_task.memory_sidecar
--port 4001``. It speaks the same gRPC protocol as the Durable Task Scheduler emulator and a Dapr sidecar,
so ``serve`` and ``worker`` reach it as ``--backend durabletask:localhost:4001``: the worker (or serve) can
be restarted or killed while the task hub lives on, as on a real backend. Its state ends with it (for a
durable one, run the emulator or Dapr). Runs until stopped (SIGTERM, Ctrl-C)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from engine.durable_task.memory_backend import start_backend


def main(argv: list[str] | None = None) -> int:
    """Run the in-memory backend on ``--port`` until stopped; 2 when it cannot start."""
    parser = argparse.ArgumentParser(prog="python -m engine.durable_task.memory_sidecar", description=__doc__)
    parser.add_argument("--port", type=int, default=4001)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        backend = start_backend(args.port)
    except Exception as exc:  # a port in use, say: one line, exit code 2
        print(f"error: cannot start the in-memory backend on port {args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"durabletask in-memory backend on localhost:{args.port}", flush=True)
    stop.wait()
    backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
