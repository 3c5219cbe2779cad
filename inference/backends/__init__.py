"""Gateway backends: an OpenAI-compatible client (OpenAI, vLLM, the fake server) and offline."""
