"""Messages to many (تعاميم) and telling everyone affected by an aid delay (issue 20, point 6)."""
