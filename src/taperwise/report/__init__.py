"""taperwise.report."""
