"""Azure OpenAI: deployment URL, api-version, api-key header, and Microsoft Entra ID without a key."""

from __future__ import annotations

import pytest

from engine.agents import DEFAULT_AZURE_API_VERSION, Agent
from tests.agents.conftest import step_context
from tests.agents.fake_openai import ENTRA_TOKEN, FakeOpenAI, completion
from tests.agents.models import ANSWER, TICKET, Ticket, Triage


def triage_agent(model: str | None = None) -> Agent:
    return Agent("triage", instructions="Classify.", input_type=Ticket, output_type=Triage, model=model)


@pytest.fixture
def azure_env(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "triage-4o")
    return fake


async def test_api_key(azure_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = azure_env
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-01-01-preview")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ignored")  # Azure, being configured, wins
    fake.expect(completion(ANSWER))
    agent = triage_agent()
    ctx = step_context(agent)

    assert await agent.handle(TICKET, ctx) == Triage(**ANSWER)

    assert fake.problems == []
    (seen,) = fake.chat_requests
    assert seen.path == "/openai/deployments/triage-4o/chat/completions"
    assert seen.query == {"api-version": "2025-01-01-preview"}
    assert seen.headers["api-key"] == "azure-key"
    assert "authorization" not in seen.headers
    assert seen.body["model"] == "triage-4o"
    assert ctx.annotations["agent"]["provider"] == "azure"
    assert ctx.annotations["agent"]["model"] == "triage-4o"


async def test_agent_model_names_the_deployment_and_version_defaults(
    azure_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = azure_env
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "")  # empty placeholder: the default applies
    fake.expect(completion(ANSWER))
    agent = triage_agent(model="summaries-mini")

    await agent.handle(TICKET, step_context(agent))

    (seen,) = fake.chat_requests
    assert seen.path == "/openai/deployments/summaries-mini/chat/completions"
    assert seen.query == {"api-version": DEFAULT_AZURE_API_VERSION}


async def test_entra_id_when_no_key(azure_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    # DefaultAzureCredential -> ManagedIdentityCredential -> the App Service identity endpoint, which is
    # how a Function app gets its token; the fake server plays that endpoint.
    fake = azure_env
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "")
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fake.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "identity-secret")
    fake.expect(completion(ANSWER), completion(ANSWER))
    agent = triage_agent()

    await agent.handle(TICKET, step_context(agent))
    await agent.handle(TICKET, step_context(agent))

    assert fake.problems == []
    for seen in fake.chat_requests:
        assert seen.headers["authorization"] == f"Bearer {ENTRA_TOKEN}"
        assert "api-key" not in seen.headers
    assert len(fake.token_requests) == 1  # one client, one credential, the token cached
    assert fake.token_requests[0].query["resource"] == "https://cognitiveservices.azure.com"
