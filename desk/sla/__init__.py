"""Service levels on the Saudi business calendar: calendar.py (pure due-time arithmetic),
service.py (the settings in the database), views.py (the admin screens)."""
