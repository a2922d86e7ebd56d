"""The workflows of the agent-loop benchmark: the same work as one plain step, and as an agent step.

``bench_tools_plain``: one executor that calls ``TOOLS`` trivial functions itself (one activity).
``bench_tools_agent``: an agent (the offline model, always: no key or service is involved) offered the
same functions as tools; it calls each once, one per round, then answers: ``TOOLS`` tool calls and
``TOOLS + 1`` model calls, each recorded on its own.
"""

from __future__ import annotations

from pydantic import BaseModel

from engine import WorkflowBuilder, executor
from engine.agents import Agent, OfflineProvider

TOOLS = 4


class Job(BaseModel):
    key: str


class Done(BaseModel):
    key: str
    total: int


def _tool(index: int) -> object:
    def tool(key: str) -> dict[str, object]:
        return {"key": key, f"part_{index}": index}

    tool.__name__ = f"part_{index}"
    tool.__doc__ = f"Part {index} of the job."
    return tool


PARTS = [_tool(i) for i in range(TOOLS)]


@executor(id="bench_parts")
async def parts(job: Job) -> Done:
    """The plain step: the same functions, called here."""
    total = sum(int(part(job.key)[f"part_{i}"]) for i, part in enumerate(PARTS))  # type: ignore[operator]
    return Done(key=job.key, total=total)


agent = Agent(
    "bench_agent",
    instructions="Call every tool, then answer.",
    input_type=Job,
    output_type=Done,
    tools=PARTS,  # type: ignore[arg-type]
    provider=OfflineProvider(),
)

plain = WorkflowBuilder("bench_tools_plain", start=parts).build()
agentic = WorkflowBuilder("bench_tools_agent", start=agent).build()
CALLS = 2 * TOOLS + 1  # the agent step's calls: a model call per round and one more, a tool call per round
