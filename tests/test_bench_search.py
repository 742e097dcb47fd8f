"""The search benchmark's choice of its rare word (tests/bench/search.py): by actual hits."""
from __future__ import annotations

from tests.bench.search import _hits, rarest


def test_rare_word_is_the_candidate_with_fewest_actual_hits(db, make_tickets):
    # In the sample's order (rarest first) قرنفل comes first, but the search finds it in more
    # tickets than زنجبيل; برتقال is not among the two candidates.
    make_tickets(3, subject="شكوى قرنفل", body="")
    make_tickets(1, subject="شكوى زنجبيل", body="")
    make_tickets(2, subject="marigold complaint", body="")
    make_tickets(1, subject="lavender complaint", body="")
    words = [("قرنفل", 0.001), ("زنجبيل", 0.002), ("برتقال", 0.003)]
    assert [_hits(db.session, w) for w, _ in words] == [3, 1, 0]
    count = lambda w: _hits(db.session, w)  # noqa: E731
    assert rarest(words, count, candidates=2) == "زنجبيل"
    assert rarest(words, count, candidates=3) == "برتقال"
    assert rarest(words, count, candidates=1) == "قرنفل"
    english = [("marigold", 0.001), ("lavender", 0.002)]
    assert rarest(english, count) == "lavender"


def test_rare_word_tie_keeps_the_sample_order():
    words = [("beta", 0.001), ("alpha", 0.002), ("gamma", 0.003)]
    assert rarest(words, lambda w: 5) == "beta"
    assert rarest(words, {"beta": 7, "alpha": 2, "gamma": 2}.get) == "alpha"
