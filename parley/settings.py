"""Settings from the environment (and an optional `.env` file), with embedded defaults.

Every default works on a laptop with nothing installed but the two virtual environments:
SQLite under `var/`, Rasa on 127.0.0.1:5005, the action server on 5055, the web chat on 8080.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _load_dotenv(path: Path) -> None:
    """Minimal `.env` reader: KEY=VALUE lines; the real environment wins."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default) or default


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=lambda: Path(_env("PARLEY_ROOT", str(Path.cwd()))))
    var_dir: Path = field(default_factory=lambda: Path(_env("PARLEY_VAR_DIR", "var")))
    database_url: str = field(
        default_factory=lambda: _env(
            "DATABASE_URL", f"sqlite:///{Path(_env('PARLEY_VAR_DIR', 'var')) / 'parley.db'}"
        )
    )
    profile: str = field(default_factory=lambda: _env("PARLEY_PROFILE", "embedded"))
    rasa_host: str = field(default_factory=lambda: _env("PARLEY_RASA_HOST", "127.0.0.1"))
    rasa_port: int = field(default_factory=lambda: int(_env("PARLEY_RASA_PORT", "5005")))
    actions_host: str = field(default_factory=lambda: _env("PARLEY_ACTIONS_HOST", "127.0.0.1"))
    actions_port: int = field(default_factory=lambda: int(_env("PARLEY_ACTIONS_PORT", "5055")))
    web_host: str = field(default_factory=lambda: _env("PARLEY_WEB_HOST", "127.0.0.1"))
    web_port: int = field(default_factory=lambda: int(_env("PARLEY_WEB_PORT", "8080")))
    tracker_url: str = field(
        default_factory=lambda: _env(
            "PARLEY_TRACKER_URL",
            f"sqlite:///{Path(_env('PARLEY_VAR_DIR', 'var')) / 'rasa-tracker.db'}",
        )
    )
    redis_host: str = field(default_factory=lambda: _env("PARLEY_REDIS_HOST", "127.0.0.1"))
    redis_port: int = field(default_factory=lambda: int(_env("PARLEY_REDIS_PORT", "6379")))
    redis_db: int = field(default_factory=lambda: int(_env("PARLEY_REDIS_DB", "0")))
    lock_prefix: str = field(default_factory=lambda: _env("PARLEY_LOCK_PREFIX", "parley"))
    # ---- scale-out (README, "Scaling"): `parley run --profile prod --replicas N` starts N Rasa
    # servers and N action servers. Gateways reach every Rasa replica listed in
    # PARLEY_RASA_URLS (comma-separated; default: the one at rasa_host:rasa_port) and route
    # each sender to one of them by consistent hashing (bot/replicas.py).
    replicas: int = field(default_factory=lambda: int(_env("PARLEY_REPLICAS", "1")))
    rasa_urls_list: str = field(default_factory=lambda: _env("PARLEY_RASA_URLS", ""))
    # The Rasa model every replica must serve (its model_id); a replica serving another is not
    # routed to. Empty: the model most replicas serve.
    rasa_model_id: str = field(default_factory=lambda: _env("PARLEY_RASA_MODEL_ID", ""))
    # How long a gateway waits for Rasa's answer to one message before retrying it once
    # (same message id, so it is never processed twice).
    rasa_timeout_s: float = field(
        default_factory=lambda: float(_env("PARLEY_RASA_TIMEOUT_S", "30"))
    )
    # Seconds a Rasa replica's per-conversation lock lives (Rasa's TICKET_LOCK_LIFETIME,
    # default 60). When a replica dies mid-turn its lock blocks that conversation until it
    # expires; 15 s keeps that wait under the gateway's timeout. A turn that outlives it can
    # overlap the next one for the same person: the message receipts and the application's
    # row lock keep that harmless (README, "Scaling").
    lock_lifetime_s: int = field(
        default_factory=lambda: int(_env("PARLEY_LOCK_LIFETIME_S", "15"))
    )
    jobs_dir: Path = field(default_factory=lambda: Path(_env("PARLEY_JOBS_DIR", "jobs")))
    models_dir: Path = field(default_factory=lambda: Path(_env("PARLEY_MODELS_DIR", "models")))
    rasa_venv: Path = field(default_factory=lambda: Path(_env("PARLEY_RASA_VENV", ".venv-rasa")))
    # ---- privacy (README, "Privacy")
    # Base64 of 32 random bytes. Unset: generated once into var/master.key (with a warning).
    master_key: str = field(default_factory=lambda: os.environ.get("PARLEY_MASTER_KEY", ""))
    # Days between "delete everything" and the full purge (the data is out of use at once).
    purge_after_days: int = field(
        default_factory=lambda: int(_env("PARLEY_PURGE_AFTER_DAYS", "30"))
    )
    # Minutes an export download link stays valid.
    export_link_minutes: int = field(
        default_factory=lambda: int(_env("PARLEY_EXPORT_LINK_MINUTES", "30"))
    )
    # Where candidates reach the web gateway (export links); default: the local web chat.
    public_url: str = field(default_factory=lambda: _env("PARLEY_PUBLIC_URL", ""))
    # Where candidates find the latest bias-audit summary (the candidate notice links it);
    # unset: the web gateway's /audit-summary, written by `parley audit publish`.
    audit_summary_url: str = field(default_factory=lambda: _env("PARLEY_AUDIT_SUMMARY_URL", ""))
    # Days the decision log is kept (oversight/decision_log.py); at least 183 (six months).
    decision_log_days: int = field(
        default_factory=lambda: int(_env("PARLEY_DECISION_LOG_DAYS", "365"))
    )
    # smtp://[user:password@]host:port for one-time codes by email; unset: written as .eml
    # files under var/mail/ (a development mailbox; nothing leaves the machine).
    smtp_url: str = field(default_factory=lambda: _env("PARLEY_SMTP_URL", ""))
    mail_from: str = field(default_factory=lambda: _env("PARLEY_MAIL_FROM", "privacy@parley.local"))

    # ---- phone (README, "Phone"): the gateway starts when the Twilio credentials are set
    twilio_account_sid: str = field(default_factory=lambda: _env("PARLEY_TWILIO_ACCOUNT_SID", ""))
    twilio_auth_token: str = field(default_factory=lambda: _env("PARLEY_TWILIO_AUTH_TOKEN", ""))
    # The number calls come from and go to (E.164), e.g. +15551234567.
    twilio_number: str = field(default_factory=lambda: _env("PARLEY_TWILIO_NUMBER", ""))
    # Twilio's REST API; another URL only for a Twilio-compatible provider or a test stand-in.
    twilio_api_url: str = field(
        default_factory=lambda: _env("PARLEY_TWILIO_API_URL", "https://api.twilio.com")
    )
    voice_host: str = field(default_factory=lambda: _env("PARLEY_VOICE_HOST", "127.0.0.1"))
    voice_port: int = field(default_factory=lambda: int(_env("PARLEY_VOICE_PORT", "8081")))
    # The https URL Twilio reaches the phone gateway at (a proxy or tunnel in front of it):
    # webhook signatures are checked against it and stream URLs are built from it.
    voice_public_url: str = field(default_factory=lambda: _env("PARLEY_VOICE_PUBLIC_URL", ""))
    # stream (Media Streams, the default) or record (<Record>; slower, see README).
    voice_capture: str = field(default_factory=lambda: _env("PARLEY_VOICE_CAPTURE", "stream"))
    # Language the recogniser is locked to; "auto" detects it per answer.
    voice_language: str = field(default_factory=lambda: _env("PARLEY_VOICE_LANGUAGE", "en"))
    say_language: str = field(default_factory=lambda: _env("PARLEY_VOICE_SAY_LANGUAGE", "en-US"))
    say_voice: str = field(default_factory=lambda: _env("PARLEY_VOICE_SAY_VOICE", ""))
    end_silence_ms: int = field(
        default_factory=lambda: int(_env("PARLEY_VOICE_END_SILENCE_MS", "1500"))
    )
    no_input_ms: int = field(default_factory=lambda: int(_env("PARLEY_VOICE_NO_INPUT_MS", "8000")))
    max_answer_s: int = field(default_factory=lambda: int(_env("PARLEY_VOICE_MAX_ANSWER_S", "180")))
    # false: audio is transcribed and dropped, whatever the candidate's retention setting.
    keep_recordings: bool = field(
        default_factory=lambda: (
            _env("PARLEY_KEEP_RECORDINGS", "true").lower() not in ("0", "false", "no", "off")
        )
    )

    # ---- Telegram (README, "Telegram"): the gateway starts when the bot token is set
    telegram_token: str = field(default_factory=lambda: _env("PARLEY_TELEGRAM_TOKEN", ""))
    # The Bot API server; another URL for a self-hosted Bot API server or a test stand-in.
    telegram_api_url: str = field(
        default_factory=lambda: _env("PARLEY_TELEGRAM_API_URL", "https://api.telegram.org")
    )
    # polling (default: works without a public URL) or webhook.
    telegram_mode: str = field(default_factory=lambda: _env("PARLEY_TELEGRAM_MODE", "polling"))
    # webhook mode: the public https URL Telegram posts updates to, and the secret it sends
    # in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -; generated when unset).
    telegram_webhook_url: str = field(
        default_factory=lambda: _env("PARLEY_TELEGRAM_WEBHOOK_URL", "")
    )
    telegram_webhook_secret: str = field(
        default_factory=lambda: _env("PARLEY_TELEGRAM_WEBHOOK_SECRET", "")
    )
    # The gateway's own HTTP listener: /healthz always, the webhook in webhook mode.
    telegram_host: str = field(default_factory=lambda: _env("PARLEY_TELEGRAM_HOST", "127.0.0.1"))
    telegram_port: int = field(default_factory=lambda: int(_env("PARLEY_TELEGRAM_PORT", "8082")))

    # ---- Slack, candidate side (README, "Slack"): starts when the bot token is set
    slack_bot_token: str = field(default_factory=lambda: _env("PARLEY_SLACK_BOT_TOKEN", ""))
    # Socket Mode (the default: no public URL needed) needs the app-level token (xapp-…).
    slack_app_token: str = field(default_factory=lambda: _env("PARLEY_SLACK_APP_TOKEN", ""))
    # HTTP Events API mode verifies every request with the signing secret.
    slack_signing_secret: str = field(
        default_factory=lambda: _env("PARLEY_SLACK_SIGNING_SECRET", "")
    )
    # socket or http; unset: socket when the app token is set, else http.
    slack_mode: str = field(default_factory=lambda: _env("PARLEY_SLACK_MODE", ""))
    # Slack's Web API; another URL only for a test stand-in.
    slack_api_url: str = field(
        default_factory=lambda: _env("PARLEY_SLACK_API_URL", "https://slack.com/api/")
    )
    slack_host: str = field(default_factory=lambda: _env("PARLEY_SLACK_HOST", "127.0.0.1"))
    slack_port: int = field(default_factory=lambda: int(_env("PARLEY_SLACK_PORT", "8083")))
    # Employer notifications (README, "Employers"): collected and posted this often.
    slack_notify_interval_s: float = field(
        default_factory=lambda: float(_env("PARLEY_SLACK_NOTIFY_INTERVAL_S", "5"))
    )

    # ---- scheduling (README, "Booking interviews")
    # Reminders before a booked interview, e.g. "24h,1h" or "90m"; empty: no reminders.
    reminders: str = field(default_factory=lambda: _env("PARLEY_REMINDERS", "24h,1h"))
    # Seconds between the worker's reminder and calendar passes.
    reminder_interval_s: float = field(
        default_factory=lambda: float(_env("PARLEY_REMINDER_INTERVAL_S", "30"))
    )

    # Largest file a candidate may send (a résumé, a voice note), in megabytes.
    max_upload_mb: int = field(default_factory=lambda: int(_env("PARLEY_MAX_UPLOAD_MB", "10")))

    @property
    def reminder_offsets_min(self) -> tuple[int, ...]:
        """`reminders` in minutes before the interview, largest first (invalid parts are
        refused at start-up by `parley run`, see parse_offsets)."""
        return parse_offsets(self.reminders)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def telegram_url(self) -> str:
        return f"http://{self.telegram_host}:{self.telegram_port}/"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def slack_effective_mode(self) -> str:
        if self.slack_mode in ("socket", "http"):
            return self.slack_mode
        return "socket" if self.slack_app_token else "http"

    @property
    def slack_url(self) -> str:
        return f"http://{self.slack_host}:{self.slack_port}/"

    @property
    def voice_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def voice_url(self) -> str:
        return f"http://{self.voice_host}:{self.voice_port}/"

    @property
    def voice_public_base(self) -> str:
        return (self.voice_public_url or self.voice_url).rstrip("/")

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """Every Rasa replica a gateway may route to (at least one)."""
        urls = tuple(u.strip().rstrip("/") for u in self.rasa_urls_list.split(",") if u.strip())
        return urls or (self.rasa_url,)

    @property
    def action_endpoint(self) -> str:
        return f"http://{self.actions_host}:{self.actions_port}/webhook"

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}/"

    @property
    def files_dir(self) -> Path:
        """The encrypted file store: recordings and export archives, per candidate."""
        return self.var_dir / "files"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def public_base_url(self) -> str:
        return (self.public_url or self.web_url).rstrip("/") + "/"

    @property
    def endpoints_file(self) -> Path:
        name = "endpoints.prod.yml" if self.profile == "prod" else "endpoints.yml"
        return self.root / name


def parse_offsets(text: str) -> tuple[int, ...]:
    """ "24h,1h,30m" → (1440, 60, 30). Raises ValueError naming the bad part."""
    import re

    out: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,4})\s*(d|h|m|min)?", part)
        if not match:
            raise ValueError(f"PARLEY_REMINDERS: {part!r} is not like 24h, 1h or 30m")
        value = int(match.group(1)) * {"d": 1440, "h": 60}.get(match.group(2) or "m", 1)
        if not 1 <= value <= 14 * 1440:
            raise ValueError(f"PARLEY_REMINDERS: {part!r} must be between 1m and 14d")
        out.add(value)
    return tuple(sorted(out, reverse=True))


def load_settings() -> Settings:
    _load_dotenv(Path.cwd() / ".env")
    return Settings()
