"""enforcehub: report administrative law-enforcement data once, use it everywhere."""
