"""What every request passes through: the Content-Security-Policy, the cap on request bodies, and
the login throttle's view of a request (django-axes; AXES_* in settings)."""

from __future__ import annotations

from axes.backends import AxesBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpResponse


class ContentSecurityPolicyMiddleware:
    """Django 5.2 has no CSP of its own: this sends settings.CONTENT_SECURITY_POLICY on every page
    that does not set one, so that only the site's own script files run (no inline script)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RequestBodyLimitMiddleware:
    """Refuse a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE before anything reads it (CSRF reads
    a POST's form): only staff may send more, up to IMPORT_MAX_BYTES, for the sample import.

    Django caps a form's fields but not its files, so an anonymous upload would otherwise be read
    to the end, to disk, before any view could refuse it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse("Bad Content-Length.", status=400, content_type="text/plain")
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            staff = request.user.is_authenticated and request.user.is_staff
            limit = settings.IMPORT_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE if staff else 0
            if length > limit:
                return HttpResponse("Request body too large.", status=413, content_type="text/plain")
        return self.get_response(request)


class LoginThrottleBackend(AxesBackend):
    """The one authentication backend: Django's ModelBackend behind axes' lockout check, which
    refuses a locked-out account or address before the password is checked.

    A login without a request (Django's test client `login`, a shell) has no address to count and
    cannot come from the web: it is checked by the password alone instead of raising."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None:
            super().authenticate(request, username, password, **kwargs)  # raises when locked out
        return ModelBackend.authenticate(self, request, username, password, **kwargs)


def client_address(request) -> str | None:
    """The visitor's address for the throttle. Behind the reverse proxy (BEHIND_TLS_PROXY) every
    request comes from the proxy, which puts the address it saw in X-Real-IP (deploy/nginx.conf)."""
    if settings.BEHIND_TLS_PROXY:
        return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR")
    return request.META.get("REMOTE_ADDR")
