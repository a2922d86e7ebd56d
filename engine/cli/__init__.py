"""``python -m engine``: the command line (list, graph, run in memory, watch a durable run, replay-check).

``main`` parses the arguments and hands each command to its module: ``registry`` loads the app's
workflows, ``run_command`` runs one in memory, ``watch`` follows a durable run over HTTP and
``replay_command`` replays recorded runs on this code.
"""

from __future__ import annotations

from engine.cli.main import main

__all__ = ["main"]
