"""Candidate time zones: understanding what people type, guessing, and showing slot times.

Why this exists: a booked interview is only as good as both people's idea of *when* it is.
People answer "which time zone are you in?" with a city ("São Paulo"), a country ("Germany"),
an abbreviation ("EST", "IST"), an offset ("UTC+2", "+05:30") or an IANA name in any case. We
turn that into one IANA zone name when the answer is clear, and into a short list of choices
when it is not (IST is India, Ireland *and* Israel), so the dialogue can ask rather than guess
wrong. Everything here is pure and uses only `zoneinfo` with the installed tzdata (plus
`phonenumbers` for guessing a caller's zone), so it works offline and is fast.

Decisions worth knowing:

* Abbreviations are read before IANA names, because "EST", "MST" and "HST" are also (fixed
  offset, no daylight saving) IANA zones and a person typing "EST" means New York time.
* "GMT" and "UTC" both give "UTC".
* Whole-hour offsets give "Etc/GMT±N" zones, whose sign is inverted (UTC+2 is "Etc/GMT-2");
  offset zero gives "UTC". Offsets with minutes (UTC+05:30) have no Etc zone: we answer with
  the real zones that use that offset, as choices.
* Link names (old aliases such as "Asia/Calcutta", "US/Eastern") are resolved to the zone
  they point to, so every stored name is the current canonical one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone

MAX_INPUT = 100
EXAMPLES = "for example Europe/Berlin, New York, London, UTC+2 or EST"

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$")
# Keys of the tz database that are not places anyone lives in.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/GMT", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT+0",
     "Etc/GMT-0", "Etc/GMT0", "Etc/Greenwich", "GMT", "GMT+0", "GMT-0", "GMT0", "Greenwich",
     "UCT", "Universal", "Zulu"}
)
# Reference instants for "does this zone behave like that one" (winter and summer).
_PROBES = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class ZoneMatch:
    """What `parse_timezone` understood: a zone, or choices to ask about, and a message for
    the person when we could not settle on one zone."""

    zone: str | None
    choices: list[str] = field(default_factory=list)
    message: str | None = None


# Abbreviations and words. A tuple with one zone is a clear answer (all zones using that
# abbreviation keep the same clock today, so the representative is exact); more than one
# zone means the abbreviation really is ambiguous and the person has to choose.
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "utc": ("UTC",),
    "gmt": ("UTC",),
    "z": ("UTC",),
    "zulu": ("UTC",),
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "et": ("America/New_York",),
    "eastern": ("America/New_York",),
    "eastern standard": ("America/New_York",),
    "eastern daylight": ("America/New_York",),
    "central standard": ("America/Chicago",),
    "central daylight": ("America/Chicago",),
    "mountain standard": ("America/Denver", "America/Phoenix"),
    "mountain daylight": ("America/Denver",),
    "pacific standard": ("America/Los_Angeles",),
    "pacific daylight": ("America/Los_Angeles",),
    "central european": ("Europe/Berlin",),
    "central europe": ("Europe/Berlin",),
    "central european summer": ("Europe/Berlin",),
    "eastern european": ("Europe/Athens",),
    "western european": ("Europe/Lisbon",),
    "british": ("Europe/London",),
    "british summer": ("Europe/London",),
    "uk": ("Europe/London",),
    "greenwich mean": ("UTC",),
    "coordinated universal": ("UTC",),
    "universal": ("UTC",),
    "india standard": ("Asia/Kolkata",),
    "indian standard": ("Asia/Kolkata",),
    "indian": ("Asia/Kolkata",),
    "israel standard": ("Asia/Jerusalem",),
    "irish standard": ("Europe/Dublin",),
    "japan standard": ("Asia/Tokyo",),
    "china standard": ("Asia/Shanghai",),
    "moscow standard": ("Europe/Moscow",),
    "us eastern": ("America/New_York",),
    "cdt": ("America/Chicago",),
    "ct": ("America/Chicago",),
    "central": ("America/Chicago",),
    "us central": ("America/Chicago",),
    "cst": ("America/Chicago", "Asia/Shanghai", "America/Havana"),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "mt": ("America/Denver",),
    "mountain": ("America/Denver",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "pt": ("America/Los_Angeles",),
    "pacific": ("America/Los_Angeles",),
    "us pacific": ("America/Los_Angeles",),
    "akst": ("America/Anchorage",),
    "akdt": ("America/Anchorage",),
    "hst": ("Pacific/Honolulu",),
    "ast": ("America/Halifax", "Asia/Riyadh"),
    "adt": ("America/Halifax",),
    "nst": ("America/St_Johns",),
    "ndt": ("America/St_Johns",),
    "bst": ("Europe/London", "Asia/Dhaka"),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "idt": ("Asia/Jerusalem",),
    "wet": ("Europe/Lisbon",),
    "west": ("Europe/Lisbon",),
    "cet": ("Europe/Berlin",),
    "cest": ("Europe/Berlin",),
    "mez": ("Europe/Berlin",),
    "mesz": ("Europe/Berlin",),
    "eet": ("Europe/Athens",),
    "eest": ("Europe/Athens",),
    "msk": ("Europe/Moscow",),
    "gst": ("Asia/Dubai",),
    "pkt": ("Asia/Karachi",),
    "npt": ("Asia/Kathmandu",),
    "wib": ("Asia/Jakarta",),
    "ict": ("Asia/Bangkok",),
    "pht": ("Asia/Manila",),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "awst": ("Australia/Perth",),
    "acst": ("Australia/Adelaide", "Australia/Darwin"),
    "acdt": ("Australia/Adelaide",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "aedt": ("Australia/Sydney",),
    "nzst": ("Pacific/Auckland",),
    "nzdt": ("Pacific/Auckland",),
    "sast": ("Africa/Johannesburg",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
    "wat": ("Africa/Lagos",),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
}

# Places people name that are not tz database cities.
_CITY_ALIASES: dict[str, str] = {
    "nyc": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "philadelphia": "America/New_York",
    "atlanta": "America/New_York",
    "miami": "America/New_York",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "montreal": "America/Toronto",
    "ottawa": "America/Toronto",
    "munich": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "geneva": "Europe/Zurich",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "krakow": "Europe/Warsaw",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "tel aviv": "Asia/Jerusalem",
    "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo",
    "cape town": "Africa/Johannesburg",
}

_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "us": "US",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "the us": "US",
    "the usa": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "korea": "KR",
    "south korea": "KR",
    "czechia": "CZ",
    "uae": "AE",
    "ivory coast": "CI",
    "burma": "MM",
    "the philippines": "PH",
}

# Countries spanning several clocks, in the order people most likely mean them.
_COUNTRY_ZONES: dict[str, tuple[str, ...]] = {
    "US": (
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
        "America/Phoenix", "America/Anchorage", "Pacific/Honolulu",
    ),
    "CA": (
        "America/Toronto", "America/Vancouver", "America/Edmonton", "America/Winnipeg",
        "America/Halifax", "America/St_Johns",
    ),
    "AU": (
        "Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Adelaide",
        "Australia/Perth",
    ),
    "RU": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"),
    "BR": ("America/Sao_Paulo", "America/Manaus", "America/Fortaleza"),
    "MX": ("America/Mexico_City", "America/Tijuana", "America/Cancun"),
    "CN": ("Asia/Shanghai",),
    "ES": ("Europe/Madrid", "Atlantic/Canary"),
    "PT": ("Europe/Lisbon", "Atlantic/Azores"),
    "ID": ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"),
}

# Offsets with minutes: no Etc/GMT zone exists, so these are the places that use them
# (in winter or in summer), most populous first.
_PART_HOUR_OFFSETS: dict[int, tuple[str, ...]] = {
    -9 * 60 - 30: ("Pacific/Marquesas",),
    -3 * 60 - 30: ("America/St_Johns",),
    -2 * 60 - 30: ("America/St_Johns",),
    3 * 60 + 30: ("Asia/Tehran",),
    4 * 60 + 30: ("Asia/Kabul",),
    5 * 60 + 30: ("Asia/Kolkata", "Asia/Colombo"),
    5 * 60 + 45: ("Asia/Kathmandu",),
    6 * 60 + 30: ("Asia/Yangon", "Indian/Cocos"),
    8 * 60 + 45: ("Australia/Eucla",),
    9 * 60 + 30: ("Australia/Adelaide", "Australia/Darwin"),
    10 * 60 + 30: ("Australia/Adelaide", "Australia/Lord_Howe"),
    12 * 60 + 45: ("Pacific/Chatham",),
    13 * 60 + 45: ("Pacific/Chatham",),
}

_OFFSET_RE = re.compile(
    r"^(?:utc|gmt|z)?\s*([+-])\s*(\d{1,2})(?:(?::|h|\.)?(\d{2}))?(?:\s*h(?:ours?|rs?)?)?$"
)
_PREFIX_RE = re.compile(
    r"^(?:(?:i\s*am|i'?m|we\s*are|we'?re|i\s*live|i'?m\s*based|based|living|located|"
    r"currently|my\s*time\s*zone\s*is|my\s*timezone\s*is|time\s*zone|timezone|it'?s|it\s*is)"
    r"\s*)*(?:in|at|near|from|:)?\s+"
)
_SUFFIX_RE = re.compile(r"\s+(?:time|time\s*zone|timezone|tz|area|region|please)$")


def _fold(text: str) -> str:
    """Lower case without accents, '_' and '-' as spaces, single spaces: the form in which
    names are compared ("São_Paulo" and "sao paulo" meet)."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"(?<=[^\W\d_])-+(?=[^\W\d_])", " ", text.replace("_", " "))
    return re.sub(r"\s+", " ", text).strip()


@cache
def _zone_keys() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


@cache
def _links() -> dict[str, str]:
    """Alias -> canonical zone, from the tzdata package's tzdata.zi ('L target alias')."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/tzdata.zi").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover - no tzdata
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("L "):
            parts = line.split()
            if len(parts) == 3:
                out[parts[2]] = parts[1]
    return out


@cache
def _listed() -> frozenset[str]:
    """Zones named in zone.tab: the names people and browsers use for real places."""
    return frozenset(z for zones in _country_zones().values() for z in zones)


def canonical_zone(name: str) -> str:
    """The name to store for a zone: old aliases ('Asia/Calcutta', 'US/Eastern') become the
    zone they point to; names listed for a country in zone.tab stay as they are (tzdata links
    Europe/Amsterdam to Europe/Brussels, but a person in Amsterdam should read Amsterdam);
    every UTC alias becomes 'UTC'."""
    if name in _UTC_NAMES:
        return "UTC"
    if name in _listed():
        return name
    target = _links().get(name, name)
    return "UTC" if target in _UTC_NAMES else target


@cache
def _by_folded_name() -> dict[str, str]:
    """Folded full IANA name -> the name as spelled in the database."""
    return {_fold(key): key for key in _zone_keys()}


@cache
def _by_city() -> dict[str, tuple[str, ...]]:
    """Folded last part of every zone name ('new york', 'calcutta') -> canonical zones.
    Names from canonical zones come first so that they win over old aliases."""
    links = _links()
    found: dict[str, list[str]] = {}
    alias_found: dict[str, list[str]] = {}
    for key in sorted(_zone_keys()):
        if "/" not in key or key.startswith(("Etc/", "SystemV/")):
            continue
        city = _fold(key.rsplit("/", 1)[1])
        bucket = alias_found if key in links else found
        target = canonical_zone(key)
        if target not in bucket.setdefault(city, []):
            bucket[city].append(target)
    out: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in alias_found.items()}
    out.update({k: tuple(v) for k, v in found.items()})
    return out


@cache
def _countries() -> dict[str, str]:
    """Folded country name -> ISO code, from tzdata's iso3166.tab plus common aliases."""
    out: dict[str, str] = {}
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover - no tzdata
        text = ""
    for line in text.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t", 1)
        name = name.replace("&", "and")
        out[_fold(name)] = code
        plain = re.sub(r"\s*\(.*?\)\s*", " ", name).strip()
        out.setdefault(_fold(plain), code)
    for alias, code in _COUNTRY_ALIASES.items():
        out[alias] = code
    return out


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO code -> zones listed for it in zone.tab (main zone first)."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover - no tzdata
        return {}
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            out.setdefault(parts[0], []).append(parts[2])
    return {k: tuple(v) for k, v in out.items()}


def _same_clock(zones: tuple[str, ...]) -> bool:
    offsets = {tuple(p.astimezone(ZoneInfo(z)).utcoffset() for p in _PROBES) for z in zones}
    return len(offsets) == 1


def _country_match(code: str) -> ZoneMatch:
    zones = _COUNTRY_ZONES.get(code) or _country_zones().get(code, ())
    if not zones:
        return ZoneMatch(None, [], f"I don't know the time zone there; {EXAMPLES}.")
    if len(zones) == 1 or _same_clock(zones):
        return ZoneMatch(zones[0])
    return ZoneMatch(None, list(zones), "That country has several time zones. Which is yours?")


def _offset_match(sign: str, hours: int, minutes: int) -> ZoneMatch:
    if hours > 14 or minutes >= 60:
        return ZoneMatch(None, [], f"That isn't a real UTC offset; {EXAMPLES}.")
    total = (hours * 60 + minutes) * (-1 if sign == "-" else 1)
    label = f"UTC{sign}{hours:02d}:{minutes:02d}"
    if total == 0:
        return ZoneMatch("UTC")
    if minutes == 0:
        if not -12 <= total // 60 <= 14:
            return ZoneMatch(None, [], f"No place uses {label}; {EXAMPLES}.")
        # The Etc/GMT zones carry POSIX signs: UTC+2 is Etc/GMT-2.
        etc_sign = "-" if total > 0 else "+"
        return ZoneMatch(f"Etc/GMT{etc_sign}{abs(total) // 60}")
    places = _PART_HOUR_OFFSETS.get(total)
    if places:
        question = (
            f"Is {places[0]} yours?" if len(places) == 1 else "Which of these places is yours?"
        )
        return ZoneMatch(None, list(places), f"There's no fixed {label} zone. {question}")
    return ZoneMatch(None, [], f"No place uses {label}; {EXAMPLES}.")


def _lookup(key: str, *, places_only: bool = False) -> ZoneMatch | None:
    """One folded candidate string -> a match, or None when it means nothing to us.
    `places_only` skips offsets and abbreviations (for the word-prefix fallback, where
    "central" out of "central european" must not become Chicago)."""
    if not key:
        return None
    if not places_only:
        offset = _OFFSET_RE.match(key.replace(" ", ""))
        if offset:
            return _offset_match(
                offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
            )
        zones = _ABBREVIATIONS.get(key)
        if zones:
            if len(zones) == 1:
                return ZoneMatch(zones[0])
            return ZoneMatch(
                None, list(zones), f"{key.upper()} can mean several time zones. Which is yours?"
            )
    full = _by_folded_name().get(key)
    if full is not None and "/" in full:
        return ZoneMatch(canonical_zone(full))
    if key in _CITY_ALIASES:
        return ZoneMatch(_CITY_ALIASES[key])
    cities = _by_city().get(key)
    if cities:
        if len(cities) == 1:
            return ZoneMatch(cities[0])
        return ZoneMatch(None, list(cities), "Which of these do you mean?")
    code = _countries().get(key)
    if code is not None:
        return _country_match(code)
    if full is not None and not places_only:  # "GB", "NZ", "PRC", "Hongkong", ...
        return ZoneMatch(canonical_zone(full))
    return None


def parse_timezone(text: str) -> ZoneMatch:
    """Understand a person's answer to "which time zone are you in?".

    Never raises; nonsense gives `ZoneMatch(None, [], message)` with examples to try."""
    if not isinstance(text, str):
        return ZoneMatch(None, [], f"Please type your city or time zone, {EXAMPLES}.")
    raw = text.strip()[:MAX_INPUT]
    for dash in ("\u2212", "\u2013", "\u2014"):
        raw = raw.replace(dash, "-")
    key = _fold(raw).strip(" .!?\"'()[]")
    if not key:
        return ZoneMatch(None, [], f"Please type your city or time zone, {EXAMPLES}.")
    variants = _variants(key)
    for candidate in variants:
        match = _lookup(candidate)
        if match is not None:
            return match
    # "London UK", "New York City", "Sao Paulo Brazil": the longest leading words that name
    # a place (never an abbreviation, see `_lookup`).
    words = _core(key).split()
    for n in range(min(len(words) - 1, 4), 0, -1):
        match = _lookup(" ".join(words[:n]), places_only=True)
        if match is not None:
            return match
    return ZoneMatch(None, [], f"I don't recognise that time zone; {EXAMPLES}.")


def _core(key: str) -> str:
    """The answer without filler: "I'm in Berlin (Germany), Europe" -> "berlin"."""
    core = _PREFIX_RE.sub("", key, count=1).strip()
    core = _SUFFIX_RE.sub("", core).strip()
    core = re.sub(r"\s*/\s*", "/", core)
    core = re.sub(r"\s*\(.*?\)\s*", " ", core).strip()
    return re.split(r"\s*[,;]\s*", core)[0].strip(" .")


def _variants(key: str) -> list[str]:
    """The answer itself, then with filler removed ("I'm in Berlin", "Berlin time",
    "Berlin, Germany", "Berlin (Germany)"), without repeats."""
    out = [key]
    core = _SUFFIX_RE.sub("", _PREFIX_RE.sub("", key, count=1).strip()).strip()
    out.append(core)
    out.append(re.sub(r"\s*/\s*", "/", core))
    out.append(_core(key))
    return list(dict.fromkeys(v for v in out if v))


def zone_name_ok(name: object) -> bool:
    """True for an IANA zone name this machine knows (exact spelling), e.g. from a browser."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in _NOT_ZONES:
        return False
    if name not in _zone_keys():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,20}$")


def guess_timezone(sender_id: str, hint: str | None = None) -> str | None:
    """A guess to confirm with the person: a valid IANA `hint` (from the browser or the
    Slack profile) wins; a phone caller's number gives its zone when that is unambiguous
    (+49 -> Europe/Berlin; +1 212 -> America/New_York); otherwise None."""
    if hint is not None and zone_name_ok(hint):
        return canonical_zone(hint)
    if not isinstance(sender_id, str) or ":" not in sender_id:
        return None
    channel, _, address = sender_id.partition(":")
    if channel not in ("voice", "sms", "whatsapp") or not _PHONE_RE.match(address):
        return None
    number = address if address.startswith("+") else "+" + address
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezone.time_zones_for_number(parsed) if zone_name_ok(z)]
    if len(zones) != 1:
        return None
    return canonical_zone(zones[0])


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if zone_name_ok(name) else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - zone_name_ok checked
        return ZoneInfo("UTC")


def day_label(moment: datetime) -> str:
    """'Tue 24 Nov' (English, whatever the process locale)."""
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]}"


def describe_slot(
    start_utc: datetime, candidate_tz: str, interviewer_tz: str, slot_minutes: int
) -> str:
    """A slot as the candidate reads it, with the interviewer's clock when it differs:

    'Tue 24 Nov, 10:00–10:45 (Europe/Berlin)', or
    'Tue 24 Nov, 10:00–10:45 your time (America/New_York) · 16:00–16:45 for the interviewer
    (Europe/Berlin)' (with the interviewer's date too when it is another day)."""
    if start_utc.tzinfo is None:
        raise ValueError("naive datetime: give a time zone")
    end_utc = start_utc + timedelta(minutes=slot_minutes)
    c_zone, i_zone = _zone(candidate_tz), _zone(interviewer_tz)
    c_name = candidate_tz if zone_name_ok(candidate_tz) else "UTC"
    i_name = interviewer_tz if zone_name_ok(interviewer_tz) else "UTC"
    c_start, c_end = start_utc.astimezone(c_zone), end_utc.astimezone(c_zone)
    i_start, i_end = start_utc.astimezone(i_zone), end_utc.astimezone(i_zone)
    c_times = f"{c_start:%H:%M}–{c_end:%H:%M}"
    i_times = f"{i_start:%H:%M}–{i_end:%H:%M}"
    if c_start.replace(tzinfo=None) == i_start.replace(tzinfo=None):
        return f"{day_label(c_start)}, {c_times} ({c_name})"
    other = i_times if i_start.date() == c_start.date() else f"{day_label(i_start)}, {i_times}"
    return (
        f"{day_label(c_start)}, {c_times} your time ({c_name}) · "
        f"{other} for the interviewer ({i_name})"
    )
