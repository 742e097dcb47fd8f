"""The case file (ملف الحالة) and registration (issue 20, points 3 and 5)."""
