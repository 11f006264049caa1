"""LossDoctor: diagnose deep-learning training curves."""

__version__ = "0.1.0"
ENGINE_VERSION = "2026.12.1"
"""Bumped whenever a change to the engine may change a verdict; part of every cache key."""
