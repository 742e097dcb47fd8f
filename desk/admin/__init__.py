"""The administrator's set-up screens: departments, focal points, categories, routing rules."""
