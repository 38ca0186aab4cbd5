"""Factories. Two teams wrote one each; `agent_factory` was deleted in the merge."""
