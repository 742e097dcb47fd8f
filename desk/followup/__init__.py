"""Follow-up with the departments until each ticket is resolved (issue 4)."""
