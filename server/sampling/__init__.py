"""Requests to vLLM SamplingParams, the inspector's sampling stages, logprobs and output
shaping: pure translation, unit-tested without an engine."""
