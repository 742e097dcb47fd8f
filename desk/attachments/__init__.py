"""Documents attached to tickets."""
