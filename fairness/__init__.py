"""Fairness: voluntary self-identification and bias audits (NYC Local Law 144 method)."""
