"""``python -m bench.profile_devhost OUT.prof [devhost arguments]``: ``python -m devhost`` under cProfile in
every thread (the event loop's, and the orchestrator and activity pools', which ``python -m cProfile``
alone does not see), the threads' statistics merged into OUT.prof when devhost stops (SIGTERM).

Used by ``bench/maps_at_scale.py`` when ``BENCH_PROFILE`` names a folder.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import runpy
import sys
import threading

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_in_thread(*_: object) -> None:
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()  # replaces this hook in the thread with the profiler's own


def main() -> None:
    out, *args = sys.argv[1:]
    sys.argv = ["devhost", *args]
    threading.setprofile(_start_in_thread)
    main_profile = cProfile.Profile()
    _profiles.append(main_profile)
    main_profile.enable()
    try:
        runpy.run_module("devhost", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        with _lock:
            profiles = list(_profiles)
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            profile.disable()
            with contextlib.suppress(TypeError):  # a thread's profiler that never saw a call
                stats.add(profile)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
