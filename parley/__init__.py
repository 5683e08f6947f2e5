"""Parley's command-line interface, settings and process supervisor."""

import os as _os

# torch's OpenMP threads spin while they wait by default; on a small machine that shares its
# cores with Rasa and the database, that made the scorer's p95 latency four times its median
# (measured: 120 ms vs 31 ms on two cores). Passive waiting must be chosen before torch loads,
# which is why it is set where our processes start; an operator's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
