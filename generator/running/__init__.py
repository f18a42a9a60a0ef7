"""Getting responses from models: the OpenAI-compatible client, the resumable runner and harness integrations."""
