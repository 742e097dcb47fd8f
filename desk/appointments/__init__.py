"""Appointments with officials (المواعيد, R53): desk.appointments.service."""
