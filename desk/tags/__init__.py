"""Tags (وسوم) on tickets: desk.tags.service."""
