"""Notifications and the outbox: who is told what, in their language, and the delivery worker."""
