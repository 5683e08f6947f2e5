"""The screening interview domain: job definitions, question kinds and the interview service."""
