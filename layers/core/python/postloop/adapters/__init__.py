"""Adapters that implement the core's ports against real services."""
