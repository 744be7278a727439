"""How long a job may take, in one place: the zygote stops its sample, the slot bounds its own wait
and the trusted test code, and the controller watches the slot, all from these numbers.
"""

from __future__ import annotations

# A sample kept off the CPU so long that its wall time reaches this many times its limit is stopped
# as "starved" (its time is otherwise counted without the time it waited for a CPU).
STARVED_CAP = 4.0
# Beyond the samples' own time: the slot's set-up, judging and reporting of one job.
SLOT_MARGIN = 2.0


def slot_budget(timeout: float, pipeline: int) -> float:
    """The longest one job can take in a slot: its zygote may first wait for the lane while the
    lane's other slots (`pipeline` in all) run their samples, each for up to STARVED_CAP times
    its limit."""
    return pipeline * timeout * STARVED_CAP + SLOT_MARGIN
