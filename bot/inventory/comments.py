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
    for line, place in _places(new.split("\n")):
        if place is not None:
            indent = line[: len(line) - len(line.lstrip(" "))]
            out.extend(indent + text for text in comments.before.pop(place, []))
            trailing = comments.trailing.pop(place, None)
            if trailing is not None and _comment_at(line) is None:
                line = f"{line}  {trailing}"
        out.append(line)
    lost = [f"{'.'.join(p)}: {t}" for p, texts in comments.before.items() for t in texts]
    lost += [f"{'.'.join(p)}: {t}" for p, t in comments.trailing.items()]
    return "\n".join(out), tuple(lost)


def _collect(text: str) -> _Comments:
    comments = _Comments()
    pending: list[str] = []
    header = True
    for line, place in _places(text.split("\n")):
        stripped = line.strip()
        if place is None:
            if stripped.startswith("#") and not header:
                pending.append(stripped)
            continue
        header = False
        if pending:
            comments.before.setdefault(place, []).extend(pending)
            pending = []
        at = _comment_at(line)
        if at is not None:
            comments.trailing[place] = line[at:].strip()
    return comments


def _places(lines: list[str]) -> list[tuple[str, Place | None]]:
    """Each line with its place, None for blank and comment-only lines."""
    stack: list[tuple[int, str]] = []
    placed: list[tuple[str, Place | None]] = []
    for line in lines:
        content = _without_comment(line)
        if not content.strip():
            placed.append((line, None))
            continue
        indent = len(content) - len(content.lstrip(" "))
        body = content.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if body.startswith("- ") or body == "-":
            entry = body[1:].strip()
            key, value = _split(entry)
            stack.append((indent, f"[{key}={value}]" if key is not None else f"[{value}]"))
            if key is not None:
                stack.append((indent + 2, key))
        else:
            key, _ = _split(body)
            stack.append((indent, key if key is not None else body))
        placed.append((line, tuple(component for _, component in stack)))
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


def _without_comment(line: str) -> str:
    at = _comment_at(line)
    return line if at is None else line[:at]


def _comment_at(line: str) -> int | None:
    """Where the comment of ``line`` starts: a ``#`` at the start or after a space, outside
    quotes; None without one."""
    quote: str | None = None
    index = 0
    while index < len(line):
        char = line[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if quote is not None:
            if char == quote == "'" and line[index + 1 : index + 2] == "'":
                index += 2  # '' is a quote inside a single-quoted string
                continue
            if char == quote:
                quote = None
        elif char in "\"'" and (index == 0 or line[index - 1] in " :-[{,"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return index
        index += 1
    return None
