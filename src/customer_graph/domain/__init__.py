"""The unified, provider-free model: imported by every layer, imports nothing else of ours."""
