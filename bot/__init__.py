"""Channel gateways: web and terminal chat now; Telegram, Slack and phone later. All use REST."""
