"""Extensions loaded by the Rasa server process (Python 3.10, `.venv-rasa`), never by `.venv`."""
