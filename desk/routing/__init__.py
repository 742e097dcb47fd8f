"""Routing: which department a new ticket goes to (rules, then the category's default)."""
