"""Diagnose: one small module per pathology, each turning curve profiles into findings with evidence."""

from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology
from lossdoctor.diagnose.catalog import CATALOG

__all__ = ["CATALOG", "Context", "Finding", "Fix", "Pathology"]
