#!/usr/bin/env python3
"""Writes the decode fixture: one page of 100 DM events with every field and the users, posts
and media they expand to, in the wire names of spec 2.167 (the dialect xdk's models expect, so
that it validates the page instead of failing on it).

Also writes the one-event page the per-call benchmarks decode (the first event, its sender,
and the paging metadata), next to it as `dm_events_page_1.json`.

Deterministic: the same files on every run. Usage: make_fixture.py OUT.json
"""
import os
import json
import random
import sys

rng = random.Random(20261122)
BASE_ID = 1_860_000_000_000_000_000
USERS = [
    ("1600000000000000001", "emu_me", "Emulator Me"),
    ("1600000000000000002", "alice_emu", "Alice Example"),
    ("1600000000000000003", "bob_emu", "Bob Example"),
    ("1600000000000000004", "carol_emu", "Carol Example"),
    ("1600000000000000005", "dave_emu", "Dave Example"),
    ("1600000000000000006", "erin_emu", "Erin Example"),
    ("1600000000000000007", "frank_emu", "Frank Example"),
    ("1600000000000000008", "grace_emu", "Grace Example"),
]
WORDS = ("lunch meeting tomorrow release notes photo trip build deploy coffee review "
         "merge ticket invoice weekend call draft budget").split()


def ts(i):
    return f"2026-11-{1 + i % 20:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}.{i % 1000:03d}Z"


def user(i, uid, username, name):
    return {
        "id": uid, "username": username, "name": name, "created_at": ts(i + 300),
        "description": f"Hi, I am {name}. #rustlang fan, see https://t.co/u{i}",
        "entities": {
            "url": {"urls": [{"start": 0, "end": 23, "url": f"https://t.co/p{i}",
                              "expanded_url": f"https://example.com/{username}",
                              "display_url": f"example.com/{username}"}]},
            "description": {"hashtags": [{"start": 24, "end": 33, "tag": "rustlang"}],
                            "urls": [{"start": 44, "end": 67, "url": f"https://t.co/u{i}",
                                      "expanded_url": "https://www.rust-lang.org",
                                      "display_url": "rust-lang.org"}]},
        },
        "location": "Lisbon, Portugal", "pinned_post_id": str(BASE_ID + 900 + i),
        "profile_image_url": f"https://pbs.twimg.com/profile_images/{uid}/a_normal.jpg",
        "protected": False, "url": f"https://t.co/p{i}", "verified": i % 2 == 0,
        "verified_type": "blue" if i % 2 == 0 else "none",
        "public_metrics": {"followers_count": 1000 + i * 37, "following_count": 200 + i,
                           "listed_count": 5 + i, "post_count": 4000 + i * 11,
                           "like_count": 9000 + i, "media_count": 120 + i},
        "receives_your_dm": True, "parody": False,
    }


def post(j, author):
    pid = str(BASE_ID + 500 + j)
    return {
        "id": pid, "text": f"Post {j}: " + " ".join(rng.choice(WORDS) for _ in range(14)),
        "author_id": author, "conversation_id": pid, "created_at": ts(j + 100), "lang": "en",
        "edit_history_post_ids": [pid], "possibly_sensitive": False, "reply_settings": "everyone",
        "source": "Example Client",
        "entities": {"hashtags": [{"start": 0, "end": 5, "tag": "news"}],
                     "urls": [{"start": 20, "end": 43, "url": f"https://t.co/x{j}",
                               "expanded_url": f"https://example.com/a/{j}",
                               "display_url": f"example.com/a/{j}"}]},
        "public_metrics": {"bookmark_count": j, "impression_count": 1000 * j, "like_count": 3 * j,
                           "quote_count": j % 4, "reply_count": j % 7, "repost_count": j % 9},
    }


def media(k):
    key = f"3_{BASE_ID + 700 + k}"
    m = {"media_key": key, "type": "photo" if k % 3 else "video", "width": 1280, "height": 720,
         "url": f"https://ton.twitter.com/1.1/ton/data/dm/{BASE_ID + k}/{BASE_ID + 700 + k}/r{k}.jpg",
         "alt_text": f"Picture number {k}",
         "preview_image_url": f"https://pbs.twimg.com/media/p{k}.jpg"}
    if m["type"] == "video":
        m["duration_ms"] = 12_000 + k
        m["public_metrics"] = {"view_count": 50 * k}
        m["variants"] = [{"bit_rate": 632000, "content_type": "video/mp4",
                          "url": f"https://video.twimg.com/v{k}/640.mp4"},
                         {"content_type": "application/x-mpegURL",
                          "url": f"https://video.twimg.com/v{k}/pl.m3u8"}]
    return m


def event(i, posts, medias):
    sender = USERS[i % len(USERS)][0]
    conv = "1600000000000000001-1600000000000000002" if i % 3 else "1860000000000000042"
    if i % 25 == 7:
        return {"id": str(BASE_ID - i), "event_type": "ParticipantsJoin", "created_at": ts(i),
                "dm_conversation_id": "1860000000000000042", "sender_id": sender,
                "participant_ids": [USERS[(i + 1) % 8][0], USERS[(i + 2) % 8][0]]}
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30)))
    text = f"@alice_emu #team $XDM {words} https://t.co/m{i}"
    e = {"id": str(BASE_ID - i), "event_type": "MessageCreate", "text": text,
         "created_at": ts(i), "dm_conversation_id": conv, "sender_id": sender,
         "entities": {"mentions": [{"start": 0, "end": 10, "username": "alice_emu",
                                    "id": USERS[1][0]}],
                      "hashtags": [{"start": 11, "end": 16, "tag": "team"}],
                      "cashtags": [{"start": 17, "end": 21, "tag": "XDM"}],
                      "urls": [{"start": len(text) - 23, "end": len(text),
                                "url": f"https://t.co/m{i}",
                                "expanded_url": f"https://x.com/alice_emu/status/{posts[i % len(posts)]['id']}",
                                "display_url": f"x.com/alice_emu/status/{i}"}]}}
    if i % 4 == 0:
        e["referenced_posts"] = [{"id": posts[i % len(posts)]["id"]}]
    if i % 5 == 0:
        e["attachments"] = {"media_keys": [medias[i % len(medias)]["media_key"]]}
    return e


posts = [post(j, USERS[j % len(USERS)][0]) for j in range(25)]
medias = [media(k) for k in range(20)]
page = {
    "data": [event(i, posts, medias) for i in range(100)],
    "includes": {"users": [user(i, *u) for i, u in enumerate(USERS)], "posts": posts,
                 "media": medias},
    "meta": {"result_count": 100, "next_token": "18LAA5G1SL0NR5OG0G00ZZZZ",
             "previous_token": "18LAA5G1SL0NR5OG0G0QZZZZ"},
}
first = page["data"][0]
small = {
    "data": [first],
    "includes": {"users": [u for u in page["includes"]["users"] if u["id"] == first["sender_id"]]},
    "meta": {"result_count": 1, "next_token": page["meta"]["next_token"]},
}
for path, doc in ((sys.argv[1], page),
                  (os.path.join(os.path.dirname(sys.argv[1]), "dm_events_page_1.json"), small)):
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
