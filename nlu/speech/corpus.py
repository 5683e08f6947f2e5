"""A spoken-answer set for measuring speech recognition: interview answers synthesised with
espeak-ng in several voices, at 16 kHz (a web or app recording) and 8 kHz µ-law (a phone line).

Why it is generated rather than recorded: the set must be reproducible on any machine (CI too)
from text in this file, without shipping audio or personal voices. Why two splits: `dev` is
what transcription settings (beam, prompt, VAD, …) were tuned on; `test` was never looked at
while tuning, so its word error rate is the honest number — answers the project has not seen.
The two splits share no sentence (`test_speech_bench.py` checks that).

Every utterance carries the question it answers and its key points, because that is what the
interview knows when a real answer arrives and what the transcription prompt is built from.
Reference texts use US spelling and write numbers the way a person would type them; both sides
are normalised (`nlu.speech.normalize`) before the WER is computed, so "forty five thousand"
and "45,000" agree.

Audio is written to a cache folder keyed by a hash of everything that shapes it (text, voice,
speed, padding, the espeak-ng and sox versions), so a second run reuses it and a change of any
of those makes new files instead of silently measuring stale ones.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("dev", "test")
PAD_S = 0.3  # silence before and after each answer, like the start and end of a recording
# espeak-ng voices and variants: American, British (two), Scottish, Caribbean, New York, and
# male/female variants, so one voice's quirks don't decide the result.
VOICES = (
    "en-us",
    "en-gb",
    "en-gb-x-rp",
    "en-us+m3",
    "en-us+f2",
    "en-gb-scotland+f3",
    "en-029",
    "en-us-nyc+m7",
)
SPEEDS = (145, 160, 175, 150, 170)  # words per minute; espeak's default is 175


class CorpusError(RuntimeError):
    """The answer set cannot be generated (a tool is missing or failed); the message says what
    to install or what went wrong."""


@dataclass(frozen=True)
class Utterance:
    id: str
    split: str
    question: str
    key_points: tuple[str, ...]
    text: str
    voice: str
    speed: int


@dataclass(frozen=True)
class Sample:
    """One utterance's audio files in the cache."""

    utterance: Utterance
    wav16: Path  # 16 kHz, 16-bit PCM, mono
    ulaw8: Path  # 8 kHz, µ-law, mono (what a phone line carries)
    duration_s: float


# (question, key points, answer). Written for this set; the splits are disjoint by sentence.
# fmt: off
_DEV: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("How many years of experience do you have with PostgreSQL?",
     ("years of experience", "PostgreSQL"),
     "I have worked with PostgreSQL for about six years, mostly tuning slow queries and "
     "designing schemas for a payments platform."),
    ("What is your salary expectation?", ("salary", "euros per year"),
     "My salary expectation is around forty five thousand euros per year, but I am open to "
     "discussing it depending on the benefits."),
    ("What is your notice period?", ("notice period", "start date"),
     "My notice period is two months, so I could start at the beginning of September at the "
     "earliest."),
    ("Have you used Kubernetes in production?", ("Kubernetes", "production", "Helm"),
     "Yes, we run about thirty services on Kubernetes in production, and I maintain the Helm "
     "charts and the deployment pipeline."),
    ("Are you willing to relocate to Berlin?", ("relocation", "Berlin"),
     "No, I would prefer not to relocate, but I can travel to the Berlin office once or twice "
     "a month."),
    ("Which programming languages do you use daily?", ("Python", "Go", "TypeScript"),
     "I write Python every day, some Go for our command line tools, and a bit of TypeScript "
     "on the front end."),
    ("When are you available for a second interview?", ("availability", "days and times"),
     "I am available next Tuesday or Wednesday afternoon, any time after two o'clock works "
     "for me."),
    ("Tell me about a project you are proud of.", ("microservices", "deployment time"),
     "I led the migration of our monolith to microservices, which cut the deployment time from "
     "two hours to about fifteen minutes."),
    ("How many people have you managed?", ("team size", "hiring", "mentoring"),
     "I managed a team of eight engineers for three years, including two juniors I hired and "
     "mentored myself."),
    ("Which cloud providers have you worked with?", ("AWS", "Terraform", "Google Cloud"),
     "Mostly Amazon Web Services, with Terraform for the infrastructure, and some Google Cloud "
     "for data analytics projects."),
    ("Are you comfortable working night shifts?", ("night shifts",),
     "Yes, I am comfortable with night shifts, I worked nights for two years in a warehouse "
     "before this job."),
    ("What is your highest level of education?", ("degree", "university"),
     "I have a master's degree in computer science from the University of Lisbon, which I "
     "finished in 2018."),
    ("How would you rate your English?", ("English", "fluency"),
     "I would say my English is fluent, I have used it at work every day for the last seven "
     "years."),
    ("Can you work from the office three days a week?", ("office days", "commute"),
     "Three days a week in the office is fine for me, the commute is only about twenty five "
     "minutes by train."),
    ("Have you worked with Docker?", ("Docker", "images"),
     "Yes, I build Docker images for all our services and I reduced the average image size by "
     "about sixty percent."),
    ("What is your current salary?", ("current salary", "bonus"),
     "I currently earn fifty two thousand dollars a year plus a small annual bonus, and I get "
     "thirty days of paid leave."),
    ("Why do you want to leave your current job?", ("motivation",),
     "The company is shrinking and I want to work on larger systems with a team that cares "
     "about testing and code review."),
    ("Do you have experience with continuous integration?",
     ("continuous integration", "GitHub Actions", "Jenkins"),
     "I set up continuous integration with GitHub Actions and Jenkins, and every pull request "
     "runs the full test suite in under ten minutes."),
    ("When could you start?", ("start date",),
     "I could start on the first of March, or two weeks earlier if my current employer "
     "agrees to it."),
    ("Do you speak any other languages?", ("languages",),
     "Besides English, I speak Spanish natively and I have a good working knowledge of French "
     "and some German."),
    ("How do you handle a production incident?", ("monitoring", "rollback", "postmortem"),
     "First I check the monitoring dashboards and the logs, then I roll back the last "
     "deployment if it looks related, and we write a postmortem afterwards."),
    ("Are you legally allowed to work in the European Union?", ("work permit", "visa"),
     "Yes, I am a Portuguese citizen, so I do not need a visa or a work permit anywhere in the "
     "European Union."),
    ("What is the largest database you have administered?",
     ("PostgreSQL", "terabytes", "replicas"),
     "The largest one was a PostgreSQL cluster of about four terabytes with three replicas and "
     "point in time recovery."),
    ("How many hours a week can you work?", ("hours per week",),
     "I can work forty hours a week, and occasionally a few more during releases or when "
     "something urgent comes up."),
    ("Do you have experience with machine learning?", ("machine learning", "pandas"),
     "A little, I trained some classification models with pandas and PyTorch, but most of my "
     "work is backend development."),
    ("What is your expected hourly rate as a contractor?", ("hourly rate", "day rate"),
     "My hourly rate is seventy five euros, or six hundred euros per day for longer "
     "engagements."),
    ("Have you ever worked in a regulated industry?", ("regulated industry", "audits"),
     "Yes, I spent four years at a bank, so I am used to audits, access reviews and strict "
     "change management."),
    ("Do you prefer working alone or in a team?", ("teamwork", "ownership"),
     "I prefer working in a small team, but I am happy to take ownership of a task and work on "
     "it alone."),
    ("Which testing frameworks do you know?", ("pytest", "Jest", "integration tests"),
     "I mostly use pytest for Python and Jest for JavaScript, and I like to write integration "
     "tests against a real database."),
    ("Can you describe your experience with Linux?", ("Linux", "Debian", "Ubuntu"),
     "I have administered Linux servers for nine years, mainly Debian and Ubuntu, including "
     "kernel upgrades and network configuration."),
    ("Are you available for on-call duty?", ("on call", "compensation"),
     "Yes, I can be on call one week in every four, as long as it is compensated."),
    ("How did you hear about this position?", ("referral",),
     "A former colleague who works in your data team sent me the link and recommended that I "
     "apply for it."),
    ("Do you have any questions for us?", ("team size", "planning"),
     "Yes, I would like to know how large the team is and how you decide what to work on each "
     "quarter."),
    ("What is your availability for a phone call next week?", ("days and times",),
     "Monday morning between nine and eleven is best, otherwise Thursday afternoon works as "
     "well."),
)

_TEST: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("How many years have you worked with Python?", ("Python", "Django", "FastAPI"),
     "I have been writing Python professionally for eight years, first for data pipelines and "
     "later for web services with Django and FastAPI."),
    ("What salary are you looking for?", ("salary", "euros per year"),
     "I am looking for something between sixty and sixty five thousand euros gross per year."),
    ("How long is your notice period?", ("notice period", "start date"),
     "It is one month, but I still have eleven days of holiday left, so realistically I could "
     "start in three weeks."),
    ("Have you administered Kubernetes clusters?", ("Kubernetes", "autoscaling"),
     "Yes, I upgraded our Kubernetes clusters twice a year and wrote the autoscaling rules for "
     "the node pools."),
    ("Would you be willing to travel?", ("travel", "percentage of time"),
     "Traveling is fine, up to about twenty percent of my time, but I would rather not be away "
     "on weekends."),
    ("Do you have a university degree?", ("degree", "university"),
     "Yes, a bachelor's degree in electrical engineering, and I completed it in 2015 while "
     "working part time."),
    ("Are you comfortable with remote work?", ("remote work", "working hours"),
     "Very much, I have worked fully remotely since 2020 and I keep regular hours that overlap "
     "with the team."),
    ("What databases have you used?", ("PostgreSQL", "MySQL", "Redis", "MongoDB"),
     "Mainly PostgreSQL and MySQL, plus Redis for caching and a little MongoDB for an "
     "analytics project."),
    ("When can you start?", ("start date",),
     "I can start on the fifteenth of April, and I would be happy to meet the team for a day "
     "before that."),
    ("Can you lift heavy boxes?", ("physical work", "weight"),
     "Yes, I worked in logistics for three years and regularly lifted boxes of up to twenty "
     "kilos."),
    ("How big was your last team?", ("team size",),
     "My last team had twelve people, five backend developers, three front end developers, "
     "two testers and two designers."),
    ("Do you have experience with Terraform?", ("Terraform", "infrastructure as code"),
     "Yes, I wrote most of our Terraform modules, and all of our cloud infrastructure is now "
     "reviewed as code before it is applied."),
    ("Why are you interested in this role?", ("motivation", "product"),
     "I like that the product helps small companies hire fairly, and the stack is very close "
     "to what I already know."),
    ("What is your minimum acceptable salary?", ("minimum salary",),
     "I would not go below forty eight thousand euros, because I would have to move to a more "
     "expensive city."),
    ("Are you available to work weekends?", ("weekends", "flexibility"),
     "No, I cannot work weekends because I look after my children, but I can work late on "
     "weekdays when needed."),
    ("Describe a difficult bug you fixed.", ("debugging", "memory leak"),
     "A memory leak in our message queue consumer crashed the service every night, and I found "
     "it by comparing heap snapshots over several hours."),
    ("Which monitoring tools do you know?", ("Prometheus", "Grafana", "alerting"),
     "I have used Prometheus and Grafana for metrics and the ELK stack for logs, and I wrote "
     "alerting rules for both."),
    ("Do you need visa sponsorship?", ("visa", "residence permit"),
     "No, I do not need sponsorship, I already have permanent residence in the Netherlands."),
    ("How many languages do you speak?", ("languages",),
     "I speak three languages, Polish is my first language, and I am fluent in English and "
     "conversational in Italian."),
    ("Have you worked with message queues?", ("RabbitMQ", "Kafka", "events per day"),
     "Yes, mostly with RabbitMQ and Kafka, we processed around two million events per day "
     "through Kafka."),
    ("How long would your commute to our office be?", ("commute",),
     "It takes me about forty minutes by bike or half an hour by bus, so a daily commute is no "
     "problem."),
    ("What are your strengths?", ("strengths",),
     "I am patient, I write clear documentation, and I am good at breaking large problems into "
     "small steps that a team can deliver."),
    ("Have you ever led a project?", ("project lead", "budget"),
     "Yes, I led a six month project to rebuild our billing system, with four developers and a "
     "budget of about two hundred thousand euros."),
    ("Do you have experience with security?", ("security", "audits", "single sign-on"),
     "Some, I ran regular dependency audits, set up single sign on for our internal tools, and "
     "fixed several findings from penetration tests."),
    ("What hourly rate do you charge?", ("hourly rate",),
     "I charge ninety euros per hour for development work and one hundred and ten euros for "
     "architecture reviews."),
    ("Are you currently employed?", ("current employment",),
     "Yes, I am employed full time as a senior backend engineer at a logistics company in "
     "Hamburg."),
    ("Can you work in a shift pattern?", ("shifts",),
     "Yes, early and late shifts both work for me, but I would prefer not to do more than two "
     "night shifts a week."),
    ("How do you keep your skills up to date?", ("learning", "conferences", "open source"),
     "I read the release notes of the tools I use, I go to two or three conferences a year, "
     "and I contribute to open source projects."),
    ("What is your experience with data analysis?", ("SQL", "Python", "dashboards"),
     "I analyze sales data in SQL and Python every week and build dashboards that the "
     "management team uses for planning."),
    ("Do you own a car?", ("car", "transport"),
     "I do not own a car, but the office is close to a train station, so getting there every "
     "day will not be a problem."),
    ("Which operating system do you prefer?", ("Linux", "macOS"),
     "I prefer Linux for development and servers, although I use a Mac laptop at work for "
     "meetings and email."),
    ("Have you mentored junior developers?", ("mentoring", "code review"),
     "Yes, I mentored three junior developers, we paired twice a week and I reviewed all of "
     "their pull requests during their first months."),
    ("Are you interested in a part time contract?", ("part time", "hours per week"),
     "A part time contract of around thirty hours a week would actually suit me very well for "
     "the next year."),
    ("What was your role in your last company?", ("role", "mobile app", "users"),
     "I was the technical lead for the mobile app, which had around half a million monthly "
     "users on Android and iOS."),
    ("When are you free for an interview?", ("days and times",),
     "Any day next week except Friday, ideally in the morning between ten and twelve."),
)
# fmt: on


def _build(split: str, rows: tuple[tuple[str, tuple[str, ...], str], ...]) -> list[Utterance]:
    # Voice and speed are spread by position, so each voice gets a mix of questions and
    # speeds, deterministically (no randomness to seed).
    return [
        Utterance(
            id=f"{split}-{i:02d}",
            split=split,
            question=question,
            key_points=key_points,
            text=text,
            voice=VOICES[i % len(VOICES)],
            speed=SPEEDS[(i // len(VOICES) + i) % len(SPEEDS)],
        )
        for i, (question, key_points, text) in enumerate(rows)
    ]


def utterances(split: str) -> list[Utterance]:
    """The utterances of one split ("dev" or "test"), in a fixed order."""
    if split == "dev":
        return _build("dev", _DEV)
    if split == "test":
        return _build("test", _TEST)
    raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


# --------------------------------------------------------------------------- audio
def check_tools() -> None:
    """Raise CorpusError naming every missing tool, before any work is done."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise CorpusError(
            f"{' and '.join(missing)} not found: the spoken-answer set is synthesised with "
            "them. Install the Debian packages (apt-get install espeak-ng sox, or run "
            "scripts/ensure-audio-tools.sh) and retry."
        )


def _tool_version(tool: str) -> str:
    try:
        done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip()[:300]
        raise CorpusError(
            f"{argv[0]} failed: {detail or f'exit status {exc.returncode}'}"
        ) from None
    except subprocess.TimeoutExpired:
        raise CorpusError(f"{argv[0]} took longer than two minutes.") from None


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def _synthesise(utt: Utterance, wav16: Path, ulaw8: Path) -> None:
    """espeak-ng → 16 kHz PCM and 8 kHz µ-law, written under temporary names and renamed, so an
    interrupted run never leaves a half file that a later run would take for finished."""
    with tempfile.TemporaryDirectory(prefix="parley-voice-") as tmp:
        raw = Path(tmp) / "raw.wav"
        _run(["espeak-ng", "-v", utt.voice, "-s", str(utt.speed), "-w", str(raw), utt.text])
        pad = ["pad", str(PAD_S), str(PAD_S)]
        part16, part8 = Path(tmp) / "16.wav", Path(tmp) / "8.wav"
        _run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer",
              str(part16), *pad])  # fmt: skip
        # sox's resampler low-passes below 4 kHz; u-law is the G.711 coding phone lines carry.
        _run(["sox", "-D", str(raw), "-r", "8000", "-c", "1", "-e", "u-law", str(part8), *pad])
        shutil.move(part16, wav16)
        shutil.move(part8, ulaw8)


def generate(
    split: str,
    cache_dir: Path,
    *,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Sample]:
    """The audio of a split (the first `limit` utterances), synthesised into `cache_dir` when
    not there yet. Raises CorpusError when espeak-ng or sox is missing or fails."""
    check_tools()
    chosen = utterances(split)[: limit if limit is not None else None]
    # sox runs without dither (-D): dither adds random noise, so the same answer would come
    # out differently on every run and the benchmark would not repeat.
    versions = f"{_tool_version('espeak-ng')}|{_tool_version('sox')}|pad={PAD_S}|no-dither"
    cache_dir.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for n, utt in enumerate(chosen, 1):
        key = hashlib.sha256(
            "\x1f".join((versions, utt.voice, str(utt.speed), utt.text)).encode()
        ).hexdigest()[:12]
        wav16 = cache_dir / f"{utt.id}-{key}-16k.wav"
        ulaw8 = cache_dir / f"{utt.id}-{key}-8k-ulaw.wav"
        if not (wav16.is_file() and ulaw8.is_file()):
            _synthesise(utt, wav16, ulaw8)
        samples.append(Sample(utt, wav16, ulaw8, wav_duration(wav16)))
        if progress is not None:
            progress(n, len(chosen))
    return samples


def default_cache_dir() -> Path:
    """`PARLEY_VOICE_CORPUS_DIR`, else var/voice-corpus (ignored by git: generated, never
    committed)."""
    return Path(os.environ.get("PARLEY_VOICE_CORPUS_DIR", "") or "var/voice-corpus")


def all_texts(splits: Iterable[str] = SPLITS) -> dict[str, set[str]]:
    """Sentence texts per split (lower-cased), for checking the splits are disjoint."""
    return {s: {u.text.lower() for u in utterances(s)} for s in splits}
