#!/usr/bin/env python3
"""The Python contenders of the comparison: X's official SDK (xdk) and tweepy.

Each subcommand prints one JSON object per measurement on stdout, for run.sh to collect:
  decode PAGE.json ROUNDS          xdk validating one 100-event page into its models
  per-call PAGE_1.json ROUNDS      xdk building, OAuth 1.0a signing and decoding one list call
                                   over a canned HTTP adapter (no network)
  page SDK DESCRIBE.json PAGES     paging PAGES pages of 100 events from the emulator
  export SDK DESCRIBE.json EVENTS  an export of EVENTS events under the emulator's rate limit
  stream STREAM.bin ROUNDS         xdk's own activity-stream line handling over the bytes of a
                                   recorded stream (written by `xdm-activity stream-file`)

xdk takes a base URL. tweepy's v2 client hard-codes its host inside BaseClient.request, so
the driver rewrites the URL on the client's own requests.Session before the request is
prepared (and signed), which is the only change made to either library.
"""
import json
import statistics
import sys
import time

import requests

DM_EVENT_FIELDS = ["attachments", "created_at", "dm_conversation_id", "entities", "event_type",
                   "id", "text"]
LEGACY_DM_EVENT_FIELDS = DM_EVENT_FIELDS + ["participant_ids", "referenced_tweets", "sender_id"]
EXPANSIONS = ["attachments.media_keys", "participant_ids", "referenced_posts", "sender_id"]
LEGACY_EXPANSIONS = ["attachments.media_keys", "participant_ids", "referenced_tweets.id",
                     "sender_id"]
USER_FIELDS = ["created_at", "description", "entities", "id", "location", "name",
               "profile_image_url", "protected", "public_metrics", "url", "username",
               "verified", "verified_type"]
# Spec 2.167 (whose names xdk sends) has no `author_id` among `post.fields`; tweepy, in the
# legacy dialect, asks for it too.
POST_FIELDS = ["attachments", "conversation_id", "created_at", "entities", "id", "lang",
               "public_metrics", "text"]
LEGACY_TWEET_FIELDS = ["author_id"] + POST_FIELDS
MEDIA_FIELDS = ["alt_text", "duration_ms", "height", "media_key", "preview_image_url",
                "public_metrics", "type", "url", "variants", "width"]


def emit(**row):
    print(json.dumps(row), flush=True)


def timeit(fn, rounds, inner):
    """Median seconds per call of `fn` over `rounds` rounds of `inner` calls."""
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
    return statistics.median(samples)


def cmd_decode(path, rounds):
    from xdk.direct_messages.models import GetEventsResponse
    body = open(path, "rb").read()
    page = GetEventsResponse.model_validate(json.loads(body))
    assert len(page.data) == 100 and page.includes.users, "the fixture must validate in full"
    # The path xdk takes: requests' .json(), then model_validate on the dict.
    emit(bench="decode", contender="xdk (json.loads + model_validate)",
         seconds=timeit(lambda: GetEventsResponse.model_validate(json.loads(body)), rounds, 20))
    # pydantic's own JSON parser, which xdk does not use: the best this model stack can do.
    emit(bench="decode", contender="xdk models (model_validate_json)",
         seconds=timeit(lambda: GetEventsResponse.model_validate_json(body), rounds, 20))


class CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request with the same 200 page, without a socket."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def send(self, request, **kwargs):
        r = requests.Response()
        r.status_code = 200
        r._content = self.body
        r.headers["content-type"] = "application/json; charset=utf-8"
        r.headers["x-rate-limit-limit"] = "15"
        r.headers["x-rate-limit-remaining"] = "14"
        r.headers["x-rate-limit-reset"] = "1763800000"
        r.url = request.url
        r.request = request
        return r

    def close(self):
        pass


def cmd_per_call(path, rounds):
    from xdk import Client
    from xdk.oauth1_auth import OAuth1
    body = open(path, "rb").read()
    auth = OAuth1(api_key="xvz1evFS4wEEPTGEFPHBog",
                  api_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
                  callback="oob",
                  access_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
                  access_token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE")
    client = Client(auth=auth)
    client.session.mount("https://", CannedAdapter(body))
    seen = []

    def one_call():
        # The generator builds, signs, sends (to the canned adapter) and validates the first
        # page on its first step, which is one list call.
        pages = client.direct_messages.get_events(
            max_results=100, pagination_token="18LAA5G1SL0NR5OG0G00ZZZZ",
            dm_event_fields=DM_EVENT_FIELDS, expansions=EXPANSIONS, user_fields=USER_FIELDS,
            post_fields=POST_FIELDS, media_fields=MEDIA_FIELDS)
        page = next(pages)
        seen.append(page)
        seen.clear()

    one_call()
    emit(bench="per_call", contender="xdk", seconds=timeit(one_call, rounds, 200))


def emulator(describe_path):
    with open(describe_path) as f:
        return json.load(f)


def xdk_client(emu):
    from xdk import Client
    return Client(base_url=emu["base_url"], access_token=emu["oauth2"]["access_token"])


def tweepy_client(emu, wait):
    import tweepy
    client = tweepy.Client(bearer_token=emu["oauth2"]["access_token"], wait_on_rate_limit=wait,
                           return_type=tweepy.Response)
    base = emu["base_url"]
    original = client.session.request

    def request(method, url, *args, **kwargs):
        return original(method, url.replace("https://api.twitter.com", base, 1), *args, **kwargs)

    client.session.request = request
    return client


def xdk_pages(emu, max_pages):
    client = xdk_client(emu)
    pages = client.direct_messages.get_events(
        max_results=100, dm_event_fields=DM_EVENT_FIELDS, expansions=EXPANSIONS,
        user_fields=USER_FIELDS, post_fields=POST_FIELDS, media_fields=MEDIA_FIELDS)
    for n, page in enumerate(pages, 1):
        yield len(page.data or [])
        if n >= max_pages:
            return


def tweepy_pages(emu, max_pages, wait=False):
    import tweepy
    client = tweepy_client(emu, wait)
    paginator = tweepy.Paginator(
        client.get_direct_message_events, max_results=100, user_auth=False,
        dm_event_fields=LEGACY_DM_EVENT_FIELDS, expansions=LEGACY_EXPANSIONS,
        user_fields=USER_FIELDS, tweet_fields=LEGACY_TWEET_FIELDS, media_fields=MEDIA_FIELDS)
    for n, page in enumerate(paginator, 1):
        yield len(page.data or [])
        if n >= max_pages:
            return


def cmd_page(sdk, describe_path, pages):
    emu = emulator(describe_path)
    gen = {"xdk": xdk_pages, "tweepy": tweepy_pages}[sdk]
    t = time.perf_counter()
    events = n = 0
    for count in gen(emu, pages):
        events += count
        n += 1
    emit(bench="paging", contender=sdk, seconds=time.perf_counter() - t, pages=n, events=events)


def cmd_export(sdk, describe_path, want):
    """Pages until `want` events are read, and reports what happened on the way."""
    emu = emulator(describe_path)
    t = time.perf_counter()
    events = pages = 0
    outcome = "ok"
    try:
        gen = xdk_pages(emu, 10**9) if sdk == "xdk" else tweepy_pages(emu, 10**9, wait=True)
        for count in gen:
            events += count
            pages += 1
            if events >= want:
                break
    except Exception as e:  # the outcome is the measurement: report it, don't hide it
        outcome = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    emit(bench="rate_limit", contender=sdk, seconds=time.perf_counter() - t, pages=pages,
         events=events, outcome=outcome)


class CannedStream:
    """What xdk's stream loop reads from a `requests.Response`: `iter_content` handing out the
    body in chunks of the size asked for, decoded to text (xdk asks for `decode_unicode=True`)."""

    def __init__(self, text):
        self.text = text

    def iter_content(self, chunk_size, decode_unicode):
        assert decode_unicode
        for at in range(0, len(self.text), chunk_size):
            yield self.text[at:at + chunk_size]


def cmd_stream(path, rounds):
    # xdk 0.10.6's own per-line code (`xdk.streaming._process_stream`: split on "\n", strip,
    # skip blank lines, `json.loads`, `ActivityResponse.model_validate`), with the model its
    # `activity_stream` passes, over the recorded bytes instead of a socket. Nothing is copied
    # or changed; the private function is called as xdk's `stream_with_retry` calls it.
    from xdk.streaming import StreamConfig, StreamState, _process_stream
    from xdk.stream.models import ActivityResponse
    text = open(path, "rb").read().decode("utf-8")
    lines = sum(1 for line in text.split("\n") if line.strip())
    config = StreamConfig()

    def run():
        return sum(1 for _ in _process_stream(CannedStream(text), config, StreamState(),
                                              ActivityResponse))

    # Every non-blank line must come out as a model: xdk drops lines that fail validation
    # without a word, which would time an exception path.
    assert run() == lines, "every delivery must validate into xdk's ActivityResponse"
    seconds = timeit(run, rounds, 3)
    emit(bench="stream_decode", contender="xdk 0.10.6 (_process_stream + ActivityResponse)",
         seconds=seconds, bytes=len(text.encode("utf-8")), events=lines,
         chunk_size=config.chunk_size)

    def plain():
        return sum(1 for line in text.split("\n") if line.strip() and json.loads(line))

    emit(bench="stream_decode", contender="python json.loads per line (no model)",
         seconds=timeit(plain, rounds, 3), bytes=len(text.encode("utf-8")), events=lines)


def main():
    cmd, *args = sys.argv[1:]
    if cmd == "decode":
        cmd_decode(args[0], int(args[1]))
    elif cmd == "per-call":
        cmd_per_call(args[0], int(args[1]))
    elif cmd == "page":
        cmd_page(args[0], args[1], int(args[2]))
    elif cmd == "export":
        cmd_export(args[0], args[1], int(args[2]))
    elif cmd == "stream":
        cmd_stream(args[0], int(args[1]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
