"""Answer scoring, job matching and speech recognition (see the Scoring and Voice issues)."""
