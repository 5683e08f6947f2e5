"""Answer scoring, job matching and speech recognition (transformer models; see the Scoring and Voice issues)."""
