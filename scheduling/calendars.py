"""Interviewers' calendars: when they are busy, and writing booked interviews into them.

Why this module exists: free interview slots are only trustworthy if they are computed from
the interviewer's real calendar, and a booked interview is only real to the interviewer once it
shows up there. Two kinds of calendar are supported, because they are what people can actually
give us: a CalDAV calendar (Nextcloud, Radicale, Fastmail, iCloud, …: read and write), and an
iCalendar feed (a "secret address" from Google/Outlook or an exported .ics file: read only).

Design rules:

* Every instant that leaves this module is an aware UTC datetime inside an `Interval`; local
  time only enters for all-day events and floating times, which are read in the interviewer's
  zone, the only zone in which "all day" means anything for their availability.
* Both kinds share one expansion path (`busy_from_ical`, built on `recurring_ical_events`), so
  recurrences, exceptions and moved instances mean the same thing whichever way they arrive.
  CalDAV is only asked for the objects touching the window (widened by two days, which covers
  every UTC offset); the expansion and the exact filtering happen here.
* Anything that goes wrong on the way (refused connection, timeout, 401, 404, a server that
  answers nonsense, an unreadable file or feed) becomes `CalendarUnavailable` with a short,
  operator-readable reason. The reason names at most the host, never a password, a path or a
  full URL: calendar URLs often carry secret tokens ("private-…/basic.ics"). The original
  exception is deliberately not chained for the same reason.
* Constructors do no I/O; the network is touched only by `busy`, `put_event` and
  `delete_event`, each bounded by `timeout` seconds per request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import icalendar
import recurring_ical_events

from scheduling.intervals import Interval, as_utc, merge

__all__ = [
    "MAX_FEED_BYTES",
    "CalDavCalendar",
    "CalendarSource",
    "CalendarUnavailable",
    "CalendarWriter",
    "IcsFeed",
    "busy_from_ical",
    "can_write",
    "open_calendar",
]

MAX_FEED_BYTES = 10 * 1024 * 1024
"""An ICS feed or file larger than this is refused (a year of a busy calendar is ~1 MB)."""

# Objects are fetched for a window this much wider than asked: floating times and all-day
# events are stored without a zone, so a server can only match them against UTC, and the
# largest UTC offsets are ±14 h.
_FETCH_MARGIN = timedelta(days=2)

# Free/busy types that mean "not available" (RFC 5545 §3.2.9); FREE is the only other one.
_BUSY_FBTYPES = {"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"}


class CalendarUnavailable(Exception):
    """The calendar could not be read or written. `str(exc)` is a short reason that is safe
    to log and to show an operator: it never contains a password or a full URL."""


class CalendarSource(Protocol):
    """Anything that can say when an interviewer is busy."""

    def busy(self, start: datetime, end: datetime, tz: str) -> list[Interval]:
        """Busy intervals overlapping [start, end), sorted and merged. `tz` is the
        interviewer's IANA zone, used for all-day events and floating times."""
        ...


@runtime_checkable
class CalendarWriter(Protocol):
    """A calendar that Parley may write the booked interview into."""

    def put_event(self, uid: str, ics: bytes) -> None:
        """Create or replace the event with this UID (idempotent: one event afterwards)."""
        ...

    def delete_event(self, uid: str) -> None:
        """Remove the event with this UID; an event that is not there is fine."""
        ...


def can_write(source: object) -> bool:
    """Whether `source` can take the booked interview (CalDAV can, an ICS feed cannot)."""
    return isinstance(source, CalendarWriter)


def open_calendar(
    kind: str,
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    calendar_name: str | None = None,
    timeout: float = 10.0,
) -> CalendarSource:
    """The calendar of one interviewer. No I/O happens here; `ValueError` for an unknown
    `kind` or a URL that cannot be one."""
    if kind == "caldav":
        return CalDavCalendar(
            url,
            username=username,
            password=password,
            calendar_name=calendar_name,
            timeout=timeout,
        )
    if kind == "ics":
        return IcsFeed(url, timeout=timeout, username=username, password=password)
    raise ValueError(f"unknown calendar kind {kind!r}: use 'caldav' or 'ics'")


# ---------------------------------------------------------------------------- expansion


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return as_utc(start), as_utc(end)


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An iCalendar DATE / floating / zoned value as an aware datetime (dates are local
    midnight in `zone`, floating times are local wall-clock time in `zone`)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            return value.replace(tzinfo=zone)
        return value
    return datetime(value.year, value.month, value.day, tzinfo=zone)


def _prop_dt(component: icalendar.Component, name: str) -> date | datetime | None:
    prop = component.get(name)
    if prop is None:
        return None
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise CalendarUnavailable(f"calendar data could not be read (bad {name})")
    return value


def _event_interval(component: icalendar.Component, zone: ZoneInfo) -> Interval | None:
    """The busy interval of one (already expanded) VEVENT occurrence, or None when it does
    not make anyone busy (transparent, cancelled, zero length)."""
    if str(component.get("TRANSP", "OPAQUE")).strip().upper() == "TRANSPARENT":
        return None
    if str(component.get("STATUS", "")).strip().upper() == "CANCELLED":
        return None
    raw_start = _prop_dt(component, "DTSTART")
    if raw_start is None:
        return None
    raw_end = _prop_dt(component, "DTEND")
    all_day = not isinstance(raw_start, datetime)
    if raw_end is None:
        duration = component.get("DURATION")
        delta = getattr(duration, "dt", None) if duration is not None else None
        if isinstance(delta, timedelta):
            raw_end = raw_start + delta
        elif all_day:
            raw_end = raw_start + timedelta(days=1)  # RFC 5545: a DATE event lasts one day
        else:
            return None  # a moment, not a span
    start = _instant(raw_start, zone)
    end = _instant(raw_end, zone)
    if all_day and end <= start:
        end = _instant(raw_start + timedelta(days=1), zone)
    if end <= start:
        return None
    return Interval(start, end)


def _freebusy_intervals(cal: icalendar.Component, zone: ZoneInfo) -> Iterator[Interval]:
    for fb in cal.walk("VFREEBUSY"):
        value = fb.get("FREEBUSY")
        if value is None:
            continue
        for period in value if isinstance(value, list) else [value]:
            fbtype = str(period.params.get("FBTYPE", "BUSY")).strip().upper()
            if fbtype not in _BUSY_FBTYPES:
                continue
            dt = getattr(period, "dt", None)
            if not (isinstance(dt, tuple) and len(dt) == 2):
                raise CalendarUnavailable("calendar data could not be read (bad FREEBUSY)")
            begin, finish = dt
            start = _instant(begin, zone)
            end = start + finish if isinstance(finish, timedelta) else _instant(finish, zone)
            if end > start:
                yield Interval(start, end)


def _parse(data: bytes | str) -> list[icalendar.Calendar]:
    if isinstance(data, bytes):
        data = data.removeprefix(b"\xef\xbb\xbf")
    else:
        data = data.removeprefix("\ufeff")
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception:
        raise CalendarUnavailable("calendar data could not be read (not valid iCalendar)") from None
    calendars = [c for c in calendars if c.name == "VCALENDAR"]
    if not calendars:
        raise CalendarUnavailable("calendar data could not be read (no VCALENDAR in it)")
    # A download cut short still parses, minus its last calendar: refuse it rather than
    # report its events as free time.
    tail = data.rstrip()[-len("END:VCALENDAR") :]
    if (tail.decode("ascii", "replace") if isinstance(tail, bytes) else tail).upper() != (
        "END:VCALENDAR"
    ):
        raise CalendarUnavailable("calendar data could not be read (it is cut short)")
    return calendars


def busy_from_ical(data: bytes | str, start: datetime, end: datetime, tz: str) -> list[Interval]:
    """Busy intervals in iCalendar text that overlap [start, end), sorted and merged.

    Recurring events are expanded (RRULE, RDATE, EXDATE, moved or cancelled instances);
    TRANSP:TRANSPARENT and STATUS:CANCELLED occurrences are free; DATE (all-day) events block
    whole local days in `tz`; floating times are read in `tz`; VFREEBUSY BUSY periods count.
    Intervals are not clipped to the window. Raises `CalendarUnavailable` for data that cannot
    be read and `ValueError` for an unknown `tz` or naive bounds."""
    zone = _zone(tz)
    window_start, window_end = _window(start, end)
    if window_end <= window_start:
        return []
    window = Interval(window_start, window_end)
    out: list[Interval] = []
    for cal in _parse(data):
        try:
            occurrences = recurring_ical_events.of(cal, components=("VEVENT",)).between(
                window_start - _FETCH_MARGIN, window_end + _FETCH_MARGIN
            )
            found = [_event_interval(component, zone) for component in occurrences]
            found.extend(_freebusy_intervals(cal, zone))
        except CalendarUnavailable:
            raise
        except Exception as exc:
            raise CalendarUnavailable(
                f"calendar data could not be read ({type(exc).__name__})"
            ) from None
        out.extend(iv for iv in found if iv is not None and iv.overlaps(window))
    return merge(out)


# ---------------------------------------------------------------------------- helpers


def _host(url: str) -> str:
    """Host (and port) of a URL, without user info: the most a reason may name."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


def _redacted(url: str) -> str:
    """scheme://host/… for reprs: paths can hold secret tokens."""
    return f"{urlsplit(url).scheme}://{_host(url)}/…"


def _http_error_reason(status: int | None, host: str) -> str:
    if status in (401, 403):
        return f"{host} refused the credentials (HTTP {status})"
    if status == 404:
        return f"calendar not found on {host} (HTTP 404)"
    if status is None:
        return f"{host} refused the request"
    return f"{host} answered HTTP {status}"


# ---------------------------------------------------------------------------- CalDAV


class CalDavCalendar(CalendarSource, CalendarWriter):
    """A CalDAV calendar: reads busy times and writes the booked interview.

    `url` is either the calendar collection itself or anything the server can find the
    user's principal from (the server root, the principal URL); then `calendar_name` picks a
    calendar by display name (or by the last segment of its URL), else the first one is
    used. The calendar is looked up once per instance; calls are serialised per instance.
    """

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        calendar_name: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        scheme = urlsplit(url.strip()).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError("a CalDAV URL must start with http:// or https://")
        self.url = url.strip()
        self.username = username or None
        self._password = password or None
        self.calendar_name = calendar_name or None
        self.timeout = float(timeout)
        self._host = _host(self.url)
        self._client: Any = None
        self._calendar: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CalDavCalendar({_redacted(self.url)!r}, calendar_name={self.calendar_name!r})"

    # -- public API -------------------------------------------------------------------
    def busy(self, start: datetime, end: datetime, tz: str) -> list[Interval]:
        _zone(tz)
        window_start, window_end = _window(start, end)
        if window_end <= window_start:
            return []
        with self._lock, self._network("reading the calendar"):
            calendar = self._resolve()
            found = calendar.search(
                event=True,
                start=window_start - _FETCH_MARGIN,
                end=window_end + _FETCH_MARGIN,
                post_filter=False,
            )
            texts = [obj.data for obj in found]
        out: list[Interval] = []
        for text in texts:
            if text:
                out.extend(busy_from_ical(text, window_start, window_end, tz))
        return merge(out)

    def put_event(self, uid: str, ics: bytes) -> None:
        text = _storable(uid, ics)
        from caldav.lib import error as caldav_error

        with self._lock, self._network("writing the event"):
            calendar = self._resolve()
            try:
                calendar.add_event(text, increase_seqno=False)
            except caldav_error.UidConflictError:
                # The UID lives under another resource name (moved by some client):
                # replace it where it is.
                existing = calendar.get_event_by_uid(uid)
                existing.save(raw_data=text.encode("utf-8"))

    def delete_event(self, uid: str) -> None:
        _check_uid(uid)
        from caldav.lib import error as caldav_error

        with self._lock, self._network("deleting the event"):
            calendar = self._resolve()
            try:
                existing = calendar.get_event_by_uid(uid)
            except caldav_error.NotFoundError:
                return
            try:
                existing.delete()
            except caldav_error.NotFoundError:
                return  # deleted meanwhile

    def close(self) -> None:
        """Drop the HTTP session (the instance can be used again afterwards)."""
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None
                    self._calendar = None

    # -- internals --------------------------------------------------------------------
    def _resolve(self) -> Any:
        """The caldav Calendar object, looked up on first use."""
        if self._calendar is not None:
            return self._calendar
        import caldav

        client = caldav.DAVClient(
            url=self.url,
            username=self.username,
            password=self._password,
            timeout=self.timeout,  # type: ignore[arg-type]  # niquests takes floats
            enable_rfc6764=False,
        )
        self._client = client
        response = client.propfind(self.url, props=client.CALENDAR_LIST_PROPS, depth=0)
        if response.status >= 400:
            raise CalendarUnavailable(_http_error_reason(response.status, self._host))
        if _is_calendar(response):
            self._calendar = client.calendar(url=self.url)
            return self._calendar
        calendars = client.principal().get_calendars()
        self._calendar = self._pick(calendars)
        return self._calendar

    def _pick(self, calendars: list[Any]) -> Any:
        if not calendars:
            raise CalendarUnavailable(f"no calendars found for this account on {self._host}")
        if not self.calendar_name:
            return calendars[0]
        wanted = self.calendar_name.strip().casefold()
        for calendar in calendars:
            name = calendar.get_display_name()
            if name and name.strip().casefold() == wanted:
                return calendar
        for calendar in calendars:
            segment = unquote(str(calendar.url).rstrip("/").rsplit("/", 1)[-1])
            if segment.casefold() == wanted:
                return calendar
        raise CalendarUnavailable(
            f"no calendar named {self.calendar_name!r} on {self._host} "
            f"({len(calendars)} other calendar(s) found)"
        )

    @contextmanager
    def _network(self, what: str) -> Iterator[None]:
        from caldav.lib import error as caldav_error
        from caldav.lib.http_sync import requests as http

        reason: str | None = None
        try:
            yield
        except CalendarUnavailable:
            self._calendar = None
            raise
        except caldav_error.AuthorizationError as exc:
            reason = _http_error_reason(getattr(exc, "status", None) or 401, self._host)
        except caldav_error.NotFoundError:
            reason = _http_error_reason(404, self._host)
        except caldav_error.DAVError as exc:
            reason = _http_error_reason(_status_of(exc), self._host)
        except http.exceptions.Timeout:
            reason = f"{self._host} did not answer within {self.timeout:g} s"
        except (http.exceptions.ConnectionError, ConnectionError):
            reason = f"cannot connect to {self._host}"
        except http.exceptions.RequestException as exc:
            reason = f"HTTP error talking to {self._host} ({type(exc).__name__})"
        except OSError as exc:
            reason = f"network error talking to {self._host} ({type(exc).__name__})"
        except Exception as exc:  # a server answering something caldav cannot parse
            reason = f"unexpected answer from {self._host} ({type(exc).__name__})"
        if reason is not None:
            self._calendar = None  # look it up again next time
            raise CalendarUnavailable(f"{what}: {reason}") from None


def _status_of(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def _is_calendar(response: Any) -> bool:
    for result in response.results or []:
        types = result.properties.get("{DAV:}resourcetype") or []
        if not isinstance(types, list):
            types = [types]
        if "{urn:ietf:params:xml:ns:caldav}calendar" in types:
            return True
    return False


_UID_OK = re.compile(r"^[^\x00-\x1f\x7f]{1,255}$")


def _check_uid(uid: str) -> None:
    if not isinstance(uid, str) or not _UID_OK.match(uid) or uid != uid.strip():
        raise ValueError("an event UID must be 1-255 printable characters")


def _storable(uid: str, ics: bytes) -> str:
    """The iCalendar text as a CalDAV server stores it: one VCALENDAR whose VEVENTs all carry
    `uid`, and no METHOD (RFC 4791 §4.1 forbids it in stored objects)."""
    _check_uid(uid)
    try:
        cal = icalendar.Calendar.from_ical(ics)
    except Exception:
        raise ValueError("the event is not valid iCalendar") from None
    events = cal.walk("VEVENT")
    if not events or any(str(e.get("UID", "")) != uid for e in events):
        raise ValueError("the event's UID does not match")
    if "METHOD" in cal:
        del cal["METHOD"]
    return cal.to_ical().decode("utf-8")


# ---------------------------------------------------------------------------- ICS feed


class IcsFeed(CalendarSource):
    """An iCalendar feed (http/https/webcal URL) or file (path or file:// URL): read only.

    Fetched afresh on every `busy` call (callers cache); at most `MAX_FEED_BYTES`; HTTP
    redirects are followed (at most 5). `username`/`password` give HTTP basic auth for feeds
    that need it."""

    def __init__(
        self,
        source: str,
        timeout: float = 10.0,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        text = source.strip()
        if not text:
            raise ValueError("an ICS feed needs a URL or a file path")
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        self.timeout = float(timeout)
        self._auth = (username, password or "") if username else None
        self._url: str | None = None
        self._path: Path | None = None
        if scheme in ("http", "https"):
            self._url = text
        elif scheme == "webcal":
            self._url = "https" + text[len(parts.scheme) :]
        elif scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError("a file:// URL must name a local file")
            self._path = Path(url2pathname(parts.path))
        elif scheme == "" or (len(scheme) == 1 and text[1:3] in (":\\", ":/")):
            self._path = Path(text).expanduser()
        else:
            raise ValueError(f"unsupported ICS feed scheme {scheme!r}: use https:// or a file")

    def __repr__(self) -> str:
        where = _redacted(self._url) if self._url else "file"
        return f"IcsFeed({where!r})"

    def busy(self, start: datetime, end: datetime, tz: str) -> list[Interval]:
        _zone(tz)
        window_start, window_end = _window(start, end)
        if window_end <= window_start:
            return []
        return busy_from_ical(self.fetch(), window_start, window_end, tz)

    def fetch(self) -> bytes:
        """The raw feed; `CalendarUnavailable` when it cannot be had."""
        if self._path is not None:
            return self._read_file(self._path)
        assert self._url is not None
        return self._download(self._url)

    @staticmethod
    def _read_file(path: Path) -> bytes:
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_FEED_BYTES + 1)
        except FileNotFoundError:
            raise CalendarUnavailable("the calendar file does not exist") from None
        except IsADirectoryError:
            raise CalendarUnavailable("the calendar file is a directory") from None
        except PermissionError:
            raise CalendarUnavailable("the calendar file cannot be read (permission)") from None
        except OSError as exc:
            raise CalendarUnavailable(
                f"the calendar file cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None
        if len(data) > MAX_FEED_BYTES:
            raise CalendarUnavailable(f"the calendar file is larger than {_mb(MAX_FEED_BYTES)}")
        return data

    def _download(self, url: str) -> bytes:
        host = _host(url)
        deadline = time.monotonic() + 3 * self.timeout
        reason: str | None = None
        try:
            with (
                httpx.Client(
                    timeout=self.timeout, follow_redirects=True, max_redirects=5, auth=self._auth
                ) as client,
                client.stream(
                    "GET", url, headers={"Accept": "text/calendar, */*;q=0.5"}
                ) as response,
            ):
                if response.status_code != 200:
                    reason = _http_error_reason(response.status_code, host)
                else:
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > MAX_FEED_BYTES:
                        reason = f"the feed on {host} is larger than {_mb(MAX_FEED_BYTES)}"
                    else:
                        chunks: list[bytes] = []
                        size = 0
                        for chunk in response.iter_bytes():
                            size += len(chunk)
                            if size > MAX_FEED_BYTES:
                                reason = f"the feed on {host} is larger than {_mb(MAX_FEED_BYTES)}"
                                break
                            if time.monotonic() > deadline:
                                reason = f"{host} sent the feed too slowly"
                                break
                            chunks.append(chunk)
                        if reason is None:
                            return b"".join(chunks)
        except httpx.TimeoutException:
            reason = f"{host} did not answer within {self.timeout:g} s"
        except httpx.TooManyRedirects:
            reason = f"too many redirects from {host}"
        except httpx.ConnectError:
            reason = f"cannot connect to {host}"
        except httpx.HTTPError as exc:
            reason = f"HTTP error talking to {host} ({type(exc).__name__})"
        except OSError as exc:
            reason = f"network error talking to {host} ({type(exc).__name__})"
        raise CalendarUnavailable(f"reading the calendar feed: {reason}") from None


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"
