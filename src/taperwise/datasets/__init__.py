"""taperwise.datasets."""
