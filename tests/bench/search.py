"""``python -m tests.bench.search`` (``make bench-search``): the queue's search at scale.

On the benchmark databases (tests/bench/build.py: N generated tickets, reused while they hold
N), each case is one htmx request of the queue (``/tickets?view=all&q=…``, newest first, a
page of 50) or of the intake's beneficiary lookup, as intake staff. The words are chosen from
the data (untimed), each by the tickets the search actually finds, as a share of the table, the
same for Arabic and English and for every size, so that the cells the issue compares (Arabic
and English, three words and one, 1M and 100k) time searches of the same reach: a word in
about 3 % of tickets, three words of one subject in another order in about 1 %, a name as people
say it (first and family name) in about 0.05 %, a word in about 0.1 % (the rare word), a word in
about a quarter (the common word), and a random beneficiary's mobile number. Cases are
interleaved per round after warm-up rounds; the figures are p50 / p95 in milliseconds of server
time (Flask test client).
"""
from __future__ import annotations

import argparse
import collections
import functools
import gc
import json
import math
import os
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from tests.bench.build import BENCH_EMAIL, BENCH_PASSWORD, bench_user_id, prepare, remove_bench_rows

ROOT = Path(__file__).resolve().parents[2]
WARMUP = 3
SAMPLE = 20_000  # tickets read to choose the words
# The share of tickets each kind of search finds (by word or stem: its actual hits). A word's
# share in the sample is only a guess at its hits (its stems find more), so the CANDIDATES
# nearest that share in the sample (or sampled names and triples) are counted, and the one
# whose hits are nearest the share is taken: the Arabic name drawn at random was once in 861
# tickets where the English one was in 193, and the 1M one-word search in 9.6 % of tickets
# where the 100k one was in 2.7 %; the timings compared searches of different reach.
SHARES = {"one": 0.03, "three": 0.01, "name": 0.0005, "rare": 0.001, "common": 0.25}
CANDIDATES = 12


def _is_arabic(word: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in word)


def _raw_words(search_text: str) -> set[str]:
    """The words of a stored search text, without its stems and the reference."""
    from desk.search import STEMS, SUBJECT_END
    head, _, rest = search_text.partition(SUBJECT_END)
    subject = head.partition(STEMS)[0].split()[1:]  # the reference first
    body = rest.partition(STEMS)[0].split()
    return {w for w in subject + body if len(w) >= 4 and w.isalpha()}


def nearest(candidates: list[str], hits, target: float) -> str:
    """Of ``candidates``, the one the search finds in the number of tickets nearest ``target``
    (``hits(candidate)``; by ratio, so 50 is as near 100 as 200 is; the first in their order on
    a tie)."""
    counted = {c: hits(c) for c in candidates}
    return min(candidates, key=lambda c: abs(math.log(max(counted[c], 0.5) / target)))


def _by_share(words: list[tuple[str, float]], share: float, taken: set[str]) -> list[str]:
    """The CANDIDATES words whose share of the sample is nearest ``share`` (ties by the word)."""
    ranked = sorted((wc for wc in words if wc[0] not in taken), key=lambda wc: (abs(math.log(wc[1] / share)), wc[0]))
    return [w for w, _ in ranked[:CANDIDATES]]


def choose(app, seed: int) -> dict:
    """The words, names and numbers to search for, read from the data (untimed)."""
    from desk.extensions import db
    from desk.text import normalize_search
    rng = random.Random(seed)
    with app.app_context():
        top = db.session.scalar(sa.text("SELECT max(id) FROM tickets"))
        ids = rng.sample(range(1, top + 1), min(SAMPLE, top))
        texts = list(db.session.scalars(sa.text("SELECT search_text FROM tickets WHERE id IN :ids")
                                        .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}))
        df: collections.Counter[str] = collections.Counter()
        for text in texts:
            df.update(_raw_words(text))
        total = len(texts)
        picks: dict = {}
        tickets = db.session.scalar(sa.text("SELECT count(*) FROM tickets"))
        count = functools.cache(lambda typed: _hits(db.session, typed))
        people = list(db.session.scalars(sa.text(
            "SELECT name FROM beneficiaries WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": rng.sample(range(1, top // 3), 2000)}))
        for lang, test in (("ar", _is_arabic), ("en", lambda w: w.isascii())):
            words = [(w, c / total) for w, c in df.items() if test(w) and c >= 3]
            taken: set[str] = set()
            for kind in ("common", "one", "rare"):
                picks[f"{kind}_{lang}"] = nearest(_by_share(words, SHARES[kind], taken), count, SHARES[kind] * tickets)
                taken.add(picks[f"{kind}_{lang}"])
            # three words of one ticket's subject, in another order
            triples: list[str] = []
            for text in rng.sample(texts, len(texts)):
                subject = [w for w in text.split("\x1e")[0].split()[1:] if len(w) >= 3 and w.isalpha()]
                if len(subject) >= 3 and all(test(w) for w in subject):
                    triple = " ".join(rng.sample(subject, 3))
                    if triple not in triples:
                        triples.append(triple)
                    if len(triples) == CANDIDATES:
                        break
            picks[f"three_{lang}"] = nearest(triples, count, SHARES["three"] * tickets)
            names: list[str] = []
            for name in people:
                parts = name.split()
                said = f"{parts[0]} {parts[-1]}"
                if test(name) and len(parts) >= 3 and said not in names:
                    names.append(said)
                if len(names) == CANDIDATES:
                    break
            picks[f"name_{lang}"] = nearest(names, count, SHARES["name"] * tickets)
        phones = list(db.session.scalars(sa.text("SELECT phone FROM beneficiaries WHERE phone IS NOT NULL AND id IN :ids")
                                         .bindparams(sa.bindparam("ids", expanding=True)),
                                         {"ids": rng.sample(range(1, top // 3), 50)}))
        picks["phones"] = ["0" + p.removeprefix("+966") for p in phones]
        picks["hits"] = {key: count(typed) for key, typed in picks.items() if key != "phones"}
        picks["tickets"] = tickets
        picks["normalised"] = {k: normalize_search(v) for k, v in picks.items() if isinstance(v, str)}
        db.session.remove()
    return picks


def _hits(session, typed: str) -> int:
    """How many tickets the queue's search finds for ``typed``."""
    from desk.models import Ticket
    from desk.tickets.search import search_condition
    return session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(search_condition(session, typed)))


ROWS = [("no search: the same page (baseline)", "none"), ("one word", "one"), ("three words", "three"), ("name (first + family)", "name"),
        ("name at intake lookup", "intake"), ("mobile number", "phone"), ("rare word", "rare"),
        ("common word", "common")]


def measure(app, picks: dict, runs: int, seed: int) -> dict[tuple[str, str], list[float]]:
    from tests.bench.__main__ import Browser
    staff = Browser(app, BENCH_EMAIL, BENCH_PASSWORD)
    rng = random.Random(seed)
    cases: dict[tuple[str, str], object] = {}
    for _, key in ROWS:
        for lang in ("ar", "en"):
            if key == "phone":
                if lang == "ar":
                    cases[(key, lang)] = lambda: "/tickets?" + urlencode({"view": "all", "q": rng.choice(picks["phones"])})
                continue
            if key == "none":
                if lang == "ar":
                    cases[(key, lang)] = lambda: "/tickets?view=all"
                continue
            if key == "intake":
                typed = picks[f"name_{lang}"]
                cases[(key, lang)] = (lambda t=typed: "/beneficiaries/search?" + urlencode({"beneficiary_q": t}))
                continue
            typed = picks[f"{key}_{lang}"]
            cases[(key, lang)] = (lambda t=typed: "/tickets?" + urlencode({"view": "all", "q": t}))
    times: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
    for round_no in range(WARMUP + runs):
        for case, url in cases.items():
            target = url()  # type: ignore[operator]
            started = time.perf_counter()
            response = staff.get(target, True)
            response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{case}: HTTP {response.status_code} for {target}")
            if round_no >= WARMUP:
                times[case].append(elapsed)
        gc.collect()
        print(f"\r  round {round_no + 1}/{WARMUP + runs}", end="", flush=True)
    print()
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def table(kind: str, version: str, picks: dict, times: dict) -> str:
    n = picks["tickets"]
    base = statistics.median(times[("none", "ar")])
    out = [f"### {kind} {version}, {n:,} tickets", "",
           "| search | Arabic p50 / p95 ms (p50 over the baseline) | English p50 / p95 ms (over the baseline) "
           "| Arabic query (hits) | English query (hits) |",
           "|---|---:|---:|---|---|"]
    for label, key in ROWS:
        cells, queries = [], []
        for lang in ("ar", "en"):
            values = times.get((key, lang))
            over = "" if key in ("none", "intake") or not values else f" ({statistics.median(values) - base:+.1f})"
            cells.append(f"{statistics.median(values):.1f} / {_p(values, 0.95):.1f}{over}" if values else "—")
            if key == "phone":
                queries.append("a random beneficiary's 05… number" if lang == "ar" else "(same for both)")
            elif key == "none":
                queries.append("/tickets?view=all" if lang == "ar" else "")
            else:
                pick = "name" if key == "intake" else key
                typed = picks[f"{pick}_{lang}"]
                hits = picks["hits"].get(f"{pick}_{lang}")
                queries.append(f"{typed} ({hits:,})" if key != "intake" else typed)
        out.append(f"| {label} | {cells[0]} | {cells[1]} | {queries[0]} | {queries[1]} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--cache", type=Path, default=ROOT / "instance" / "bench")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    args.cache = args.cache.resolve()
    reports, raw = [], {}
    for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        print(f"\n== {kind}", flush=True)
        app, build = prepare(kind, args.tickets, args.cache, rebuild=args.rebuild)
        from desk.extensions import db
        with app.app_context():
            version = db.session.scalar(sa.text("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version"))
            db.session.remove()
        picks = choose(app, seed=2026)
        try:
            times = measure(app, picks, args.runs, seed=2027)
        finally:
            uid = bench_user_id(app)
            if uid is not None:
                remove_bench_rows(app, uid)
        reports.append(table(kind, version, picks, times))
        raw[kind] = {"build": build, "picks": picks,
                     "times": {f"{k[0]}/{k[1]}": v for k, v in times.items()}}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report = (f"## Search benchmark, {args.tickets:,} tickets ({datetime.now().isoformat(timespec='seconds')}, "
              f"nproc {os.cpu_count()}, load at end {load}, {args.runs} runs after {WARMUP} warm-up)\n\n"
              + "\n".join(reports))
    print("\n" + report)
    args.output.mkdir(parents=True, exist_ok=True)
    name = f"search-{args.tickets}-{'-'.join(raw)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    (args.output / f"{name}.json").write_text(json.dumps(raw, indent=2, ensure_ascii=False, default=str))
    (args.output / f"{name}.md").write_text(report)
    print(f"Wrote {args.output / name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
