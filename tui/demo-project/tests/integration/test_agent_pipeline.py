import pytest
from app.factories.agent_factory import AgentFactory  # deleted in the factory merge


@pytest.mark.factory
def test_agent_pipeline_runs_tools():
    agent = AgentFactory().create("researcher")
    assert agent.run("find the incident") == "done"
