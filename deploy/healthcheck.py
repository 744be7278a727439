"""Exit 0 when the web process on this machine serves a page: compose's healthcheck of `web`.

The request carries the first allowed host and, behind a TLS proxy, the proxy's header, so that
ALLOWED_HOSTS and the https redirect answer it as they answer real visitors.
"""

import os
import sys
import urllib.request

port = os.environ.get("PORT", "8000")
host = os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",")[0].strip().lstrip(".") or "127.0.0.1"
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/static/css/site.css",
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"web not healthy: {error}", file=sys.stderr)
    sys.exit(1)
