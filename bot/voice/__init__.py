"""The phone gateway: Twilio Voice with our own speech recognition (README, "Phone")."""
