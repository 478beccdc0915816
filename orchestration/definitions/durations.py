"""The longest wait a definition may ask for: ten years, in seconds and in minutes.

Longer ones would overflow the date arithmetic of timers, retries and deadlines (a
backoff of 1e12 seconds is 31,000 years), and no business process waits that long.
"""

LONGEST_SECONDS = 10 * 366 * 24 * 3600
LONGEST_MINUTES = LONGEST_SECONDS // 60
SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": LONGEST_SECONDS}
