"""Saved replies (الردود الجاهزة): kept by admins and focal points, picked in a ticket's reply box."""
