"""An article's body as HTML: plain text with paragraphs, lists and headings, never HTML.

The writer types plain text: a blank line starts a paragraph; lines starting with "- ", "* " or
"• " make a bulleted list, lines starting with a number and a dot ("1." or "١.") a numbered
list; a line starting with "## " is a heading. Everything typed is escaped, so a ``<script>``
shows as text; the result is passed through nh3 (the project's sanitiser) with only the tags
this renderer writes, so nothing else can reach a page even if this code had a hole."""
from __future__ import annotations

import re

import nh3
from markupsafe import Markup, escape

TAGS = {"p", "ul", "ol", "li", "h2", "h3", "br"}
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*[0-9٠-٩]+\s*[.)-]\s*(.*)$")
_HEADING = re.compile(r"^\s*#{1,3}\s+(.*)$")


def _line(text: str) -> str:
    return str(escape(text.strip()))


def _block(lines: list[str]) -> str:
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal kind
        if paragraph:
            out.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()
        if items:
            out.append(f"<{kind}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{kind}>")
            items.clear()
        kind = ""

    for raw in lines:
        heading, bullet, numbered = _HEADING.match(raw), _BULLET.match(raw), _NUMBERED.match(raw)
        if heading:
            flush()
            out.append(f"<h3>{_line(heading.group(1))}</h3>")
        elif bullet or numbered:
            wanted = "ul" if bullet else "ol"
            if paragraph or kind != wanted:
                flush()
            kind = wanted
            items.append(_line((bullet or numbered).group(1)))  # type: ignore[union-attr]
        elif items and raw.startswith((" ", "\t")):  # a list item's next line
            items[-1] += "<br>" + _line(raw)
        else:
            if items:
                flush()
            paragraph.append(_line(raw))
    flush()
    return "".join(out)


def to_html(text: str) -> Markup:
    """The body as safe HTML (paragraphs, lists, headings)."""
    blocks: list[list[str]] = [[]]
    for raw in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw.strip():
            blocks[-1].append(raw)
        elif blocks[-1]:
            blocks.append([])
    html = "".join(_block(b) for b in blocks if b)
    return Markup(nh3.clean(html, tags=TAGS, attributes={}))  # noqa: S704 - sanitised by nh3 just now


def excerpt(text: str, limit: int = 180) -> str:
    """The body's first words as plain text, for a list."""
    words = " ".join(re.sub(r"^\s*(#{1,3}|[-*•]|[0-9٠-٩]+\s*[.)-])\s+", "", line)
                     for line in (text or "").splitlines()).split()
    out = " ".join(words)
    return out if len(out) <= limit else out[:limit].rsplit(" ", 1)[0] + "…"
