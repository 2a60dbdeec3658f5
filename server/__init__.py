"""An OpenAI-compatible server over vLLM that makes sampling correct and visible."""
