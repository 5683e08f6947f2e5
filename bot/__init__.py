"""Channel gateways: web chat, terminal chat and (later) Telegram, Slack and phone, all talking to Rasa over REST."""
