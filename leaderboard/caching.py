"""Public pages served from Django's cache, keyed by the version of what they show (docs/pages.md).

Every write that changes what the public pages show draws a new `PublicVersion` token in its own
transaction. Each request reads that one row, so the web server sees a worker's change on its next
request whatever the cache backend (a local memory per process, or Redis through CACHE_URL). Only
anonymous GETs without messages are served from the cache, and a page that shows a run in progress
is rendered every time and never stored. A stored page carries an ETag and a Last-Modified date, so
that a repeat visit costs a 304.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from leaderboard.runs.models import PublicVersion

# An entry of an older version is never read again: it only waits to expire or to be culled.
TIMEOUT = 24 * 60 * 60


@dataclass(frozen=True)
class Entry:
    """A stored answer: its body, the headers its view set, and what conditional requests compare."""

    content: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str
    stored_at: float


def public_page(view: Callable, live: Callable[..., bool] | None = None) -> Callable:
    """The view, its answers to anonymous GETs stored under the public version.

    `live(**url_kwargs)` says whether the page shows a run in progress: such a page is rendered for
    each request, since its progress moves without a new version."""

    @wraps(view)
    def cached(request, *args, **kwargs):
        if not shared(request):
            return view(request, *args, **kwargs)
        version = PublicVersion.current()
        if version is None:  # nothing was written through the services yet: no key to trust
            return view(request, *args, **kwargs)
        key = page_key(request, version.token)
        entry = cache.get(key)
        if entry is None:
            if live is not None and live(*args, **kwargs):
                return view(request, *args, **kwargs)
            response = view(request, *args, **kwargs)
            if not storable(request, response):
                return response
            entry = Entry(
                response.content,
                tuple(response.headers.items()),
                f'"{hashlib.blake2b(response.content, digest_size=16).hexdigest()}"',
                time.time(),
            )
            cache.set(key, entry, TIMEOUT)
        return answer(request, entry, version.changed_at)

    return cached


def shared(request) -> bool:
    """Whether the answer is the same for every visitor: an anonymous GET with no message to show."""
    return (
        request.method == "GET"
        and not request.user.is_authenticated
        and not len(messages.get_messages(request))
    )


def page_key(request, token: str) -> str:
    path = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
    return f"page:{token}:{path}"


def storable(request, response) -> bool:
    """A whole 200 that sets no cookie and holds no CSRF token."""
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def answer(request, entry: Entry, changed_at: float) -> HttpResponse:
    """The stored page, or a 304 when the visitor's copy is current.

    Last-Modified is the second the page was stored, rounded down; a copy of that date is current
    when the last change came before it (If-None-Match, compared first, is exact)."""
    response = HttpResponse(entry.content)
    for name, value in entry.headers:
        response.headers[name] = value
    response.headers["ETag"] = entry.etag
    response.headers["Last-Modified"] = http_date(int(entry.stored_at))
    response.headers["Cache-Control"] = "no-cache"  # browsers ask again each time: a 304 when current
    patch_vary_headers(response, ("Cookie",))
    return get_conditional_response(
        request, etag=entry.etag, last_modified=math.ceil(changed_at), response=response
    )
