"""Answer scoring, job matching and speech recognition (see the Scoring and Voice issues)."""

import os as _os

# torch's OpenMP threads spin while they wait by default; on a small machine that shares its
# cores with Rasa and the database, that made the scorer's p95 latency four times its median
# (measured: 120 ms vs 31 ms on two cores). Passive waiting must be chosen before torch loads,
# and torch is only ever imported through this package (the encoder), so this is the one
# place it needs setting; an operator's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
