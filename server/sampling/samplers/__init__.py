"""The samplers vLLM lacks (DRY, top-n-sigma, typical-p, XTC, Mirostat 2.0, adaptive-p) and the
whole chain in any order: one definition each, run by the engine as logits processors
(processors.py) and by the inspector on the same numbers, so what the inspector shows is
what the engine did."""
