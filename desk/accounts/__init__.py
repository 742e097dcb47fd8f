"""Accounts: signing in and out, users, roles and the language preference."""
