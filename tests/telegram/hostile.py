"""A seeded generator of hostile and malformed Telegram updates.

Three families, mixed at random: well-formed updates carrying nasty content (control
characters, lone surrogates, 25,000-character texts, fake commands, broken deep links, huge
numbers, files that do not exist or lie about their size), structurally broken updates (a
field of the wrong type, a required field missing, unknown kinds, two kinds at once, deep
nesting) and things that are not updates at all (lists, strings, numbers, null).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from parley import telegram_standin as tg

NASTY_TEXTS = [
    "",
    " ",
    "\x00",
    "\x00\x01\x02\x1b[31mred",
    "/",
    "//",
    "/ 5 years",
    "/start",
    "/start job_",
    "/start job_" + "a" * 200,
    '/start {"job_id": 1}',
    '/start{"job_id": "../../etc/passwd"}',
    "/start@other_bot job_x",
    "/link",
    "/link " + "X" * 500,
    "/link ABCD-EFGH",
    "/delete_answer -1",
    "/correct 99999999999999999999 x",
    "/practice " + "é" * 300,
    "/unknowncommand",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\ud800",
    "a\udfffb",
    "😀" * 3000,
    "a" * 25_000,
    "word " * 1000,
    "<b>bold</b><script>alert(1)</script>",
    "*_`[](http://x)",
    "\n" * 100,
    "%s%n%x%d",
    "{{7*7}} ${7*7}",
    "'; DROP TABLE candidates; --",
    "\u200b" * 10,
    "https://example.com/export/abcdef",
    "Yes",
    "no",
]
NASTY_INTS: list[Any] = [0, -1, 1, 2**31, -(2**31), 2**63, 2**70, -(2**70), True, False]
NASTY_VALUES: list[Any] = [
    None,
    "",
    "x",
    [],
    {},
    [1, 2],
    {"a": {"b": {"c": {}}}},
    1.5,
    -7,
    2**80,
    True,
    "😀" * 50,
]
MIMES = [
    "application/pdf",
    "audio/ogg",
    "audio/x-wav",
    "image/png",
    "text/plain",
    "",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "x" * 300,
]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(NASTY_TEXTS)
    length = rng.randint(1, 300)
    return "".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(length))


def _chat(rng: random.Random, chats: list[int]) -> int:
    return rng.choice(chats) if rng.random() < 0.85 else rng.choice([-100123, 2**40, 7, 1])


def _file(rng: random.Random, files: list[str]) -> dict[str, Any]:
    file_id = rng.choice(files) if files and rng.random() < 0.5 else "missing-" + str(rng.random())
    return {
        "file_id": file_id,
        "file_unique_id": "u" + str(rng.randint(0, 999)),
        "file_size": rng.choice([1, 10, 1000, 10**9, -5, 0]),
    }


def _message_update(rng: random.Random, chats: list[int], files: list[str]) -> dict[str, Any]:
    chat = _chat(rng, chats)
    kind = rng.randrange(14)
    if kind < 5:
        return tg.text_update(chat, _text(rng))
    if kind == 5:
        return tg.message_update(chat, voice={**_file(rng, files), "duration": rng.randint(0, 9)})
    if kind == 6:
        return tg.message_update(
            chat,
            document={
                **_file(rng, files),
                "file_name": _text(rng)[:100],
                "mime_type": rng.choice(MIMES),
            },
        )
    if kind == 7:
        return tg.message_update(
            chat, audio={**_file(rng, files), "duration": 3, "mime_type": rng.choice(MIMES)}
        )
    if kind == 8:
        return rng.choice(
            [
                tg.sticker_update,
                tg.photo_update,
                tg.location_update,
                tg.contact_update,
                tg.poll_message_update,
            ]
        )(chat)
    if kind == 9:
        return tg.edited_message_update(chat, _text(rng))
    if kind == 10:
        return tg.text_update(chat, _text(rng), chat_type=rng.choice(["group", "supergroup"]))
    if kind == 11:
        return tg.channel_post_update(-100999, _text(rng))
    if kind == 12:
        update = tg.text_update(chat, _text(rng))
        update["message"]["entities"] = [
            {
                "type": "bot_command",
                "offset": rng.randint(-5, 10**6),
                "length": rng.randint(-5, 10**6),
            }
        ]
        update["message"]["reply_to_message"] = tg.text_update(chat, _text(rng))["message"]
        return update
    return tg.message_update(
        chat, **{rng.choice(["future_thing", "caption", "giveaway"]): _text(rng)}
    )


def _callback_update(rng: random.Random, chats: list[int]) -> dict[str, Any]:
    chat = _chat(rng, chats)
    data = rng.choice(
        [
            "p:yes",
            "p:" + _text(rng)[:30],
            "t:" + _text(rng)[:20],
            "v:use:" + str(rng.random()),
            "v:again:",
            "v:",
            "",
            "x" * 100,
            _text(rng),
        ]
    )
    message: dict[str, Any] | None = tg.text_update(chat, "Question?")["message"]
    roll = rng.random()
    if roll < 0.1:
        message = None
    elif roll < 0.2:
        message = {"chat": {"id": chat, "type": "private"}, "message_id": 5, "date": 0}
    elif roll < 0.3:
        message = tg.text_update(-100123, "q", chat_type="group")["message"]
    update = tg.callback_update(chat, data, message)
    if rng.random() < 0.2:
        del update["callback_query"]["data"]
    return update


def _mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """Break one thing somewhere inside `value`: a wrong type, a missing or an extra field."""
    if not isinstance(value, dict) or not value or depth > 4:
        return rng.choice(NASTY_VALUES + NASTY_INTS)
    key = rng.choice(list(value))
    action = rng.random()
    if action < 0.3:
        del value[key]
    elif action < 0.7:
        value[key] = _mutate(rng, value[key], depth + 1)
    elif action < 0.85:
        value[key] = rng.choice(NASTY_VALUES + NASTY_INTS)
    else:
        value[_text(rng)[:20] or "k"] = rng.choice(NASTY_VALUES)
    return value


def _deep(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def hostile_updates(seed: int, count: int, chats: list[int], files: list[str]) -> list[Any]:
    """`count` hostile updates (dicts without `update_id`, or non-objects), reproducibly."""
    rng = random.Random(seed)
    out: list[Any] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            out.append(_message_update(rng, chats, files))
        elif roll < 0.6:
            out.append(_callback_update(rng, chats))
        elif roll < 0.85:
            base = (
                _message_update(rng, chats, files)
                if rng.random() < 0.7
                else _callback_update(rng, chats)
            )
            out.append(_mutate(rng, copy.deepcopy(base)))
        elif roll < 0.9:
            out.append(
                rng.choice(
                    [
                        tg.unknown_update(),
                        tg.poll_update(),
                        {"message": _deep(200)},
                        {"inline_query": {"id": "1", "query": _text(rng)}},
                        {
                            **tg.text_update(_chat(rng, chats), _text(rng)),
                            **tg.callback_update(_chat(rng, chats), "p:yes"),
                        },
                        {},
                    ]
                )
            )
        else:
            out.append(rng.choice([[1, 2, 3], "update", 42, None, 1.5, [], [{"message": {}}]]))
    return out
