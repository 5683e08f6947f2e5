"""Interview booking on real calendars (see the Scheduling issue)."""
