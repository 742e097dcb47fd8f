"""The research committee (لجنة البحث): support requests referred to it, its decisions, and
the accepted service delivered."""
