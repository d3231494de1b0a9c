"""taperwise.analysis."""
