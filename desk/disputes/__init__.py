"""Disputes (خلاف): amicable settlement first (R37)."""
