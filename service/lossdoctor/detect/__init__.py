"""Detect: the statistical facts about each curve (change points, segments, spikes, non-finite values).

This is the only package that imports ruptures. Diagnose modules read its results; they never fit models.
"""

from lossdoctor.detect.profile import SeriesProfile, profile_run, profile_series

__all__ = ["SeriesProfile", "profile_run", "profile_series"]
