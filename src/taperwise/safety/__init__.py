"""taperwise.safety."""
