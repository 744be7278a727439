"""The leaderboard's own settings, with the defaults used where settings.py does not name them."""

from django.conf import settings


def setting(name: str):
    defaults = {
        "SUBMISSIONS_PER_WEEK": 5,
        "SUBMISSIONS_NEED_APPROVAL": True,
        "SUBMISSION_MODEL_ROOTS": [str(settings.VAR_DIR / "models")],
        "HUB_URL": "https://huggingface.co",
        "HUB_TIMEOUT": 3.0,
    }
    return getattr(settings, name, defaults[name])
