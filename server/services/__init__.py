"""The endpoints' work, each walking the same path: checks, template, budget, fan-out,
shape."""
