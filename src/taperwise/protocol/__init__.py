"""taperwise.protocol."""
