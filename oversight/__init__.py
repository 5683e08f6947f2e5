"""Human oversight of automated outcomes: the decision log and a person's overrides."""
