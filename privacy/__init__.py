"""Privacy notice, consent and data-subject rights (view, export, correct, delete)."""
