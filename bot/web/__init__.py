"""Web chat gateway: a self-contained chat page and a JSON API in front of Rasa's REST channel."""
