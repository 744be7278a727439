"""The site package (settings, urls, the Celery app) and the public leaderboard app."""

from leaderboard.celery import app as celery_app

__all__ = ("celery_app",)
