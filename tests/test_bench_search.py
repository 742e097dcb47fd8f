"""The search benchmark's choice of its words (tests/bench/search.py): by actual hits."""
from __future__ import annotations

from tests.bench.search import _by_share, _hits, nearest


def test_the_word_taken_is_the_candidate_whose_actual_hits_are_nearest_the_target(db, make_tickets):
    # In the sample قرنفل looks rarest, but the search finds it in more tickets than زنجبيل.
    make_tickets(3, subject="شكوى قرنفل", body="")
    make_tickets(1, subject="شكوى زنجبيل", body="")
    make_tickets(2, subject="marigold complaint", body="")
    make_tickets(1, subject="lavender complaint", body="")
    words = ["قرنفل", "زنجبيل", "برتقال"]
    assert [_hits(db.session, w) for w in words] == [3, 1, 0]
    count = lambda w: _hits(db.session, w)  # noqa: E731
    assert nearest(words, count, 1) == "زنجبيل"
    assert nearest(words, count, 3) == "قرنفل"
    assert nearest(words, count, 0.4) == "برتقال"  # none found counts as half a ticket
    assert nearest(["marigold", "lavender"], count, 1) == "lavender"
    assert nearest(["marigold", "lavender"], count, 2) == "marigold"


def test_nearest_is_by_ratio_and_a_tie_keeps_the_candidates_order():
    hits = {"a": 50, "b": 200, "c": 120}.get
    assert nearest(["a", "b"], hits, 100) == "a"  # 50 and 200 are as near 100: the first
    assert nearest(["b", "a"], hits, 100) == "b"
    assert nearest(["a", "b", "c"], hits, 100) == "c"


def test_candidates_are_the_words_nearest_the_share_by_ratio():
    words = [("rare", 0.0001), ("few", 0.001), ("some", 0.01), ("many", 0.1), ("most", 0.5)]
    assert _by_share(words, 0.01, set())[:3] == ["some", "few", "many"]
    assert "some" not in _by_share(words, 0.01, {"some"})
