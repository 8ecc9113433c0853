"""Carry the comments a person wrote in an inventory file over to its refreshed text.

An inventory file is rewritten from what the account shows, but a comment in it is a person's
decision — above all an inline suppression (``# mendbot: ignore[<rule>]``) that keeps a key out
of the remediations. A rerun must not erase it. Each comment is tied to the structural place
of the line it is on (or the line it precedes): the chain of keys down to it, with list entries
named by their first field (``keys[id=AKIA…].status``). The refreshed text gets each comment
back at the same place; a comment whose place is gone (the key was deleted) is returned
instead, for the run to report.

Only the files the inventory renders are read this way: block mappings and sequences, one
field per line, no multi-line scalars. The header (the comments before the first field) is the
inventory's own and is not carried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.yamledit.document import SourceText, YamlDocument

Place = tuple[str, ...]


@dataclass
class _Comments:
    before: dict[Place, list[str]] = field(default_factory=dict)
    """Whole-line comments, by the place of the line they precede (stripped of indentation)."""
    trailing: dict[Place, str] = field(default_factory=dict)
    """End-of-line comments (from ``#``), by the place of their line."""


def carry_comments(old: str, new: str) -> tuple[str, tuple[str, ...]]:
    """``new`` with the comments of ``old`` at the same places, and the comments that found no
    place (each with the place it had)."""
    comments = _collect(old)
    out: list[str] = []
    for line, place, comment in _places(new):
        if place is not None:
            indent = line[: len(line) - len(line.lstrip(" "))]
            out.extend(indent + text for text in comments.before.pop(place, []))
            trailing = comments.trailing.pop(place, None)
            if trailing is not None and comment is None:
                line = f"{line}  {trailing}"
        out.append(line)
    lost = [f"{'.'.join(p)}: {t}" for p, texts in comments.before.items() for t in texts]
    lost += [f"{'.'.join(p)}: {t}" for p, t in comments.trailing.items()]
    return "\n".join(out), tuple(lost)


def _collect(text: str) -> _Comments:
    comments = _Comments()
    pending: list[str] = []
    header = True
    for line, place, comment in _places(text):
        if place is None:
            if comment is not None and not header:
                pending.append(line[comment:].strip())
            continue
        header = False
        if pending:
            comments.before.setdefault(place, []).extend(pending)
            pending = []
        if comment is not None:
            comments.trailing[place] = line[comment:].strip()
    return comments


def _places(text: str) -> list[tuple[str, Place | None, int | None]]:
    """Each line of ``text`` (normalised: no BOM, LF) with its place (None for blank and
    comment-only lines) and the column its comment starts at (None without one), as the YAML
    engine finds comments: never a ``#`` inside a scalar."""
    body = SourceText.from_text(text).body
    document = YamlDocument.parse(body)
    columns = {
        document.line_of(start): start - document.line_start(start)
        for start, _ in document.comments()
    }
    stack: list[tuple[int, str]] = []
    placed: list[tuple[str, Place | None, int | None]] = []
    for number, line in enumerate(body.split("\n")):
        comment = columns.get(number)
        content = line if comment is None else line[:comment]
        if not content.strip():
            placed.append((line, None, comment))
            continue
        indent = len(content) - len(content.lstrip(" "))
        body_text = content.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if body_text.startswith("- ") or body_text == "-":
            key, value = _split(body_text[1:].strip())
            stack.append((indent, f"[{key}={value}]" if key is not None else f"[{value}]"))
            if key is not None:
                stack.append((indent + 2, key))
        else:
            key, _ = _split(body_text)
            stack.append((indent, key if key is not None else body_text))
        placed.append((line, tuple(component for _, component in stack), comment))
    return placed


def _split(body: str) -> tuple[str | None, str]:
    """``key: value`` into the key and the value as a plain string; a scalar alone: (None,
    value)."""
    key, colon, value = body.partition(":")
    if not colon or (key.startswith(('"', "'")) and not key.endswith(key[0])):
        return None, _scalar(body)
    return key.strip(), _scalar(value.strip())


def _scalar(text: str) -> str:
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return str(value)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text
