"""Who may do what: annotators grade, reviewers adjudicate and see quality figures, staff do both."""

ANNOTATORS = "annotators"
REVIEWERS = "reviewers"


def _in_group(user, name: str) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or user.groups.filter(name=name).exists()


def can_grade(user) -> bool:
    return _in_group(user, ANNOTATORS)


def can_review(user) -> bool:
    return _in_group(user, REVIEWERS)
