"""Signals other apps listen to, so that evaluation never imports them."""

from django.dispatch import Signal

# Sent with `run` and `sample_ids` when a generation chunk of a benchmark without tests is stored:
# its samples go to people (the grading app), not to the execution queue.
samples_generated = Signal()
