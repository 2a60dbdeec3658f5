"""The one vLLM engine: its configuration, CPU binding, the embedded model, the prompt's
token ids, and the fingerprint of what a seeded answer depends on."""
