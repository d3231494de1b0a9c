"""taperwise.web."""
