"""The OpenAI API as pydantic models (requests, responses, the policy on each field) and the
error type: the contract, below every other layer."""
