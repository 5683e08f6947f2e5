"""The Telegram gateway (aiogram 3): candidates interview in a private chat with the bot.

Modules: `gateway` (update intake, per-chat order, Rasa turns), `routers` (what each kind of
message does), `render` (Rasa replies as Telegram messages), `sender` (Bot API calls that
respect flood limits), `media` (voice notes and résumés), `polling` and `webhook` (the two ways
updates arrive) and `server` (the process).
"""
