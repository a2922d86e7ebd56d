"""A Microsoft Agent Framework durable agent app (agent-framework-azurefunctions), unmodified library code:
its agents live in durable entities, its HTTP endpoint signals the entity and polls read_entity_state, and
an orchestration runs the agent through call_entity. The agent answers without a model (it echoes), so the
sample needs no key. A third-party check of devhost's entities: it runs only where that package is
installed (see tests/devhost/test_agent_framework_sample.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from agent_framework import AgentResponse, BaseAgent, Message
from agent_framework_azurefunctions import AgentFunctionApp


class EchoAgent(BaseAgent):
    """Answers with "echo: <the last message>", and how many messages of the conversation it was given."""

    async def run(self, messages: Any = None, *, stream: bool = False, session: Any = None, **_: Any) -> Any:
        if stream:
            raise TypeError("stream=True is not supported")  # the library then calls run() without it
        given = _as_list(messages)
        last = given[-1].text if given else ""
        answer = Message("assistant", [f"echo: {last} ({len(given)} given)"])
        return AgentResponse(messages=[answer], created_at=datetime.now(UTC).isoformat())


def _as_list(messages: Any) -> Sequence[Message]:
    if messages is None:
        return []
    items = messages if isinstance(messages, list) else [messages]
    return [m if isinstance(m, Message) else Message("user", [str(m)]) for m in items]


app = AgentFunctionApp(agents=[EchoAgent(name="Echo")], http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def ask_twice(context):
    agent = app.get_agent(context, "Echo")
    session = agent.create_session()
    first = yield agent.run("hello", session=session)
    second = yield agent.run("again", session=session)
    return [first.text, second.text]
