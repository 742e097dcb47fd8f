"""The shared queue: every ticket from every channel, filtered, sorted and paged."""
