"""Beneficiaries: finding them as staff type, and recording new ones."""
