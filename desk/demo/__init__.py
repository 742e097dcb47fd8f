"""Demo data: realistic tickets generated in bulk."""
