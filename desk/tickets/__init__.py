"""Tickets: creation, the timeline, and every change a person makes to a ticket."""
