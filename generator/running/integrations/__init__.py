"""Adapters for evaluation harnesses (inspect-ai, lmms-eval): optional extras, never imported by the core."""
