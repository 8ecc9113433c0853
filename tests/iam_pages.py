"""A paging front for moto's IAM: moto answers every list in one page (it ignores ``MaxItems``
and ``Marker``), AWS does not. This front forwards each request unchanged (its signature still
holds) and, when the caller asked for ``MaxItems``, cuts ``ListUsers``, ``ListAccessKeys`` and
``ListUserTags`` answers into pages with ``IsTruncated`` and ``Marker`` as IAM does."""

from __future__ import annotations

import http.client
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NS = "https://iam.amazonaws.com/doc/2010-05-08/"
_LISTS = {"ListUsers": "Users", "ListAccessKeys": "AccessKeyMetadata", "ListUserTags": "Tags"}


@dataclass
class PagingFront:
    """Where the front listens, and the pages it served per action."""

    upstream: str
    url: str = ""
    pages: dict[str, int] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)


def _page(body: bytes, action: str, max_items: int, marker: int) -> bytes:
    ET.register_namespace("", NS)
    root = ET.fromstring(body)  # noqa: S314 - moto's answer on loopback
    result = root.find(f"{{{NS}}}{action}Result")
    assert result is not None
    listing = result.find(f"{{{NS}}}{_LISTS[action]}")
    members = list(listing) if listing is not None else []
    for member in members:
        listing.remove(member)  # type: ignore[union-attr]
    for member in members[marker : marker + max_items]:
        listing.append(member)  # type: ignore[union-attr]
    truncated = marker + max_items < len(members)
    flag = result.find(f"{{{NS}}}IsTruncated")
    if flag is None:
        flag = ET.SubElement(result, f"{{{NS}}}IsTruncated")
    flag.text = "true" if truncated else "false"
    if truncated:
        ET.SubElement(result, f"{{{NS}}}Marker").text = str(marker + max_items)
    return ET.tostring(root)


@contextmanager
def paging_front(upstream: str) -> Iterator[PagingFront]:
    """Serve the front on loopback for the duration of the block."""
    front = PagingFront(upstream)
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            action = params.get("Action", "")
            front.actions.append(action)
            connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
            try:
                connection.request("POST", self.path, body=body, headers=dict(self.headers.items()))
                response = connection.getresponse()
                status, answer, headers = response.status, response.read(), response.getheaders()
            finally:
                connection.close()
            if status == 200 and action in _LISTS and "MaxItems" in params:
                answer = _page(
                    answer, action, int(params["MaxItems"]), int(params.get("Marker", 0))
                )
                front.pages[action] = front.pages.get(action, 0) + 1
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    front.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield front
    finally:
        server.shutdown()
        server.server_close()
