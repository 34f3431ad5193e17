#!/usr/bin/env python3
"""Points X's Python SDK (xdk) and tweepy at a freshly started emulator.

Not part of `cargo test`. Run it from the repository root after `cargo build -p xdm-emulator`:

    python3 -m venv target/peers-venv && target/peers-venv/bin/pip install xdk tweepy
    target/peers-venv/bin/python crates/xdm-emulator/tests/peers/check_python_clients.py [path/to/xdm-emulator]

Only the base URL and the credentials differ from talking to api.x.com. Exits non-zero on the
first failure.
"""

import json
import subprocess
import sys

import requests

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/xdm-emulator"


def start():
    p = subprocess.Popen([BIN, "--addr", "127.0.0.1:0", "--events", "120"], stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def with_xdk(info):
    import xdk
    from xdk.oauth1_auth import OAuth1

    me = info["users"][0]["id"]
    alice = info["users"][1]["id"]
    c = xdk.Client(base_url=info["base_url"], access_token=info["oauth2"]["access_token"])
    dm = c.direct_messages
    pages = list(dm.get_events(max_results=50, dm_event_fields=["created_at", "dm_conversation_id", "entities"],
                               expansions=["sender_id", "referenced_posts"], post_fields=["created_at"],
                               user_fields=["public_metrics"]))
    events = [e for p in pages for e in (p.data or [])]
    check(len(pages) >= 2 and not pages[-1].data, f"xdk pages through {len(events)} events and stops on the empty page")
    ids = [int(e["id"] if isinstance(e, dict) else e.id) for e in events]
    check(ids == sorted(ids, reverse=True), "newest first")
    first = next(iter(dm.get_events_by_participant_id(alice, max_results=5)))
    check(len(first.data) == 5, "xdk by participant")
    sent = dm.create_by_participant_id(alice, body={"text": "hello from xdk"})
    conv = sent.data["dm_conversation_id"] if isinstance(sent.data, dict) else sent.data.dm_conversation_id
    event_id = sent.data["dm_event_id"] if isinstance(sent.data, dict) else sent.data.dm_event_id
    check(conv == "-".join(sorted([me, alice], key=int)), "xdk send to participant")
    one = dm.get_events_by_id(event_id, dm_event_fields=["created_at", "text"])
    text = one.data["text"] if isinstance(one.data, dict) else one.data.text
    check(text == "hello from xdk", "xdk get by id")
    again = dm.create_by_conversation_id(conv, body={"text": "again"})
    check(again.data is not None, "xdk send to conversation")
    group = dm.create_conversation(body={"conversation_type": "Group", "participant_ids": [alice, info["users"][2]["id"]],
                                         "message": {"text": "a group"}})
    check(group.data is not None, "xdk create group")
    by_conv = next(iter(dm.get_events_by_conversation_id(conv, max_results=2)))
    check(len(by_conv.data) == 2, "xdk by conversation")
    deleted = dm.delete_events(event_id)
    check((deleted.data["deleted"] if isinstance(deleted.data, dict) else deleted.data.deleted) is True, "xdk delete")
    blocked = c.users.block_dms(alice)
    check(blocked.data is not None, "xdk block")
    c.users.unblock_dms(alice)
    # Media download needs the ton URL mapped onto the download path.
    page = next(iter(dm.get_events(max_results=100, expansions=["attachments.media_keys"], media_fields=["url"])))
    media = (page.includes or {}).get("media") if isinstance(page.includes, dict) else page.includes.media
    url = media[0]["url"] if isinstance(media[0], dict) else media[0].url
    dm_id, media_id, resource = url.rsplit("/", 3)[1:]
    blob = dm.dm_conversations_media_download(dm_id, media_id, resource)
    check(len(blob) > 0, "xdk media download")

    import base64
    one = c.media.upload(body={"media": base64.b64encode(b"fake-jpeg").decode(), "media_category": "dm_image"})
    media_id = one.data["id"] if isinstance(one.data, dict) else one.data.id
    sent = dm.create_by_participant_id(alice, body={"attachments": [{"media_id": media_id}]})
    check(sent.data is not None, "xdk one-shot upload, then attach")
    init = c.media.initialize_upload(body={"media_category": "dm_video", "media_type": "video/mp4", "total_bytes": 8})
    vid = init.data["id"] if isinstance(init.data, dict) else init.data.id
    c.media.append_upload(vid, body={"media": base64.b64encode(b"abcd").decode(), "segment_index": 0})
    c.media.append_upload(vid, body={"media": base64.b64encode(b"efgh").decode(), "segment_index": 1})
    fin = c.media.finalize_upload(vid)
    size = fin.data["size"] if isinstance(fin.data, dict) else fin.data.size
    check(size == 8, "xdk chunked upload")
    status = c.media.get_upload_status(vid, command="STATUS")
    check(status.data is not None, "xdk upload status")

    o1 = OAuth1(api_key=info["oauth1"]["consumer_key"], api_secret=info["oauth1"]["consumer_secret"], callback="oob",
                access_token=info["oauth1"]["access_token"], access_token_secret=info["oauth1"]["access_token_secret"])
    c1 = xdk.Client(base_url=info["base_url"], auth=o1)
    first = next(iter(c1.direct_messages.get_events(max_results=3, dm_event_fields=["created_at", "text"])))
    check(len(first.data) == 3, "xdk OAuth 1.0a signed GET with a comma list")
    sent = c1.direct_messages.create_by_participant_id(alice, body={"text": "signed by xdk"})
    check(sent.data is not None, "xdk OAuth 1.0a signed POST")


def with_xdk_oauth2_flow(info):
    import os
    import urllib.parse

    import xdk

    # requests-oauthlib refuses plain http unless told otherwise.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    base = info["base_url"]
    c = xdk.Client(base_url=base, authorization_base_url=base + "/i", client_id=info["oauth2"]["client_id"],
                   client_secret=info["oauth2"]["client_secret"], redirect_uri="http://127.0.0.1:9/cb",
                   scope=["dm.read", "dm.write", "tweet.read", "users.read", "offline.access"])
    url = c.get_authorization_url(state="st")
    loc = requests.get(url, allow_redirects=False).headers["location"]
    q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    check(q["state"] == ["st"], "xdk authorize URL accepted, state echoed")
    token = c.exchange_code(q["code"][0])
    check("refresh_token" in token, "xdk PKCE code exchange")
    first = next(iter(c.direct_messages.get_events(max_results=2)))
    check(len(first.data) == 2, "xdk uses the fresh token")
    old = token["refresh_token"]
    c.refresh_token()
    check(c.oauth2_auth.token["refresh_token"] != old, "xdk refresh rotates the refresh token")


def with_tweepy(info):
    import tweepy

    class ToEmulator(requests.adapters.HTTPAdapter):
        def send(self, request, **kw):
            request.url = request.url.replace("https://api.twitter.com", info["base_url"])
            return super().send(request, **kw)

    alice = info["users"][1]["id"]
    # tweepy takes an OAuth 2.0 user token as bearer_token with user_auth=False.
    client = tweepy.Client(bearer_token=info["oauth2"]["access_token"])
    client.session.mount("https://api.twitter.com", ToEmulator())
    r = client.get_direct_message_events(max_results=10, dm_event_fields=["created_at", "sender_id"],
                                         expansions=["sender_id"], user_auth=False)
    check(len(r.data) == 10 and r.includes["users"], "tweepy lists events with expansions")
    pages = list(tweepy.Paginator(client.get_direct_message_events, max_results=100, user_auth=False))
    check(sum(len(p.data or []) for p in pages) > 100, f"tweepy Paginator walks {len(pages)} pages")
    r = client.create_direct_message(participant_id=alice, text="hello from tweepy", user_auth=False)
    check(r.data["dm_event_id"], "tweepy send")
    r = client.create_direct_message_conversation(text="tweepy group",
                                                  participant_ids=[alice, info["users"][2]["id"]], user_auth=False)
    check(r.data["dm_conversation_id"], "tweepy create group")
    try:
        bad = tweepy.Client(bearer_token="wrong")
        bad.session.mount("https://api.twitter.com", ToEmulator())
        bad.get_direct_message_events(user_auth=False)
        check(False, "tweepy raises on 401")
    except tweepy.Unauthorized:
        check(True, "tweepy raises Unauthorized on a bad token")


def main():
    proc, info = start()
    try:
        with_xdk(info)
        with_xdk_oauth2_flow(info)
        with_tweepy(info)
    finally:
        proc.kill()
    print("all peer checks passed")


if __name__ == "__main__":
    main()
