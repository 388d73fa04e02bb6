"""enforcehub: report administrative law-enforcement data once, use it everywhere."""

__version__ = "0.2.0"
