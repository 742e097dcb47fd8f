"""Intake: staff record a ticket from any channel, finding or creating the beneficiary."""
