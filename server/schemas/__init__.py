"""Pydantic models of the OpenAI API, named as openai-python names them."""
