#!/usr/bin/python3
"""Example Switchboard client (pyzmq): subscribe to decisions, ask for one, and catch up by replay.

Run with Debian's python3-zmq (`/usr/bin/python3 tools/example_client.py`) against `switchboard serve`.
It prints one JSON line per step, so scripts and tests can read what happened.

The query carries an idempotency key (contract 1.1). When no reply comes within --timeout, the client
closes its socket, connects a new one and sends the *same bytes* again (the zguide's Lazy Pirate), up
to --tries sends: the engine answers a repeat with the first reply, so the call is decided, and
transferred, once however many times it is sent.

Several engines (sharing one PostgreSQL store): give each endpoint option a comma list or repeat it.
Each retry goes to the next query endpoint; the subscriber listens to every events endpoint.
"""
import argparse
import json
import sys
import time
import uuid

import zmq


def endpoint_list(values):
    """The endpoints of a repeated option whose values may be comma lists, in order, each once."""
    out = []
    for value in values:
        for endpoint in (part.strip() for part in value.split(",")):
            if endpoint and endpoint not in out:
                out.append(endpoint)
    return out


def ask_lazy_pirate(ctx, endpoints, request, timeout_ms, tries):
    """Sends `request` (bytes) over REQ and returns the reply, resending the same bytes on a fresh socket
    after each timeout, to the next of `endpoints` each time; raises zmq.Again after `tries` sends without
    a reply."""
    for attempt in range(1, tries + 1):
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(endpoints[(attempt - 1) % len(endpoints)])
        req.send(request)
        if req.poll(timeout_ms, zmq.POLLIN):
            reply = req.recv_json()
            req.close()
            return reply, attempt
        # No answer: the request or its reply may be lost. A REQ socket cannot send again before it
        # receives, so close it and retry on a new one (the next engine), with the same key.
        req.close()
        print(json.dumps({"step": "retry", "attempt": attempt + 1}), flush=True)
    raise zmq.Again("no reply after %d tries" % tries)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    # The contract's default endpoints (Sources/Wire/Endpoints.swift).
    p.add_argument("--query", action="append", help="repeat or comma list (default tcp://127.0.0.1:5570)")
    p.add_argument("--events", action="append", help="repeat or comma list (default tcp://127.0.0.1:5571)")
    p.add_argument("--replay", action="append", help="repeat or comma list (default tcp://127.0.0.1:5572)")
    p.add_argument("--table", default="retention-ru")
    p.add_argument("--at", default="2026-11-22T23:49:00+03:00")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    p.add_argument("--tries", type=int, default=3, help="sends of the query, the first included, before giving up")
    args = p.parse_args()
    queries = endpoint_list(args.query or ["tcp://127.0.0.1:5570"])
    events = endpoint_list(args.events or ["tcp://127.0.0.1:5571"])
    replays = endpoint_list(args.replay or ["tcp://127.0.0.1:5572"])

    ctx = zmq.Context()
    timeout_ms = int(args.timeout * 1000)

    # Subscribe first, and wait for a heartbeat, so the decision's event cannot be missed.
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sub.setsockopt(zmq.SUBSCRIBE, b"decision.")
    sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
    for endpoint in events:
        sub.connect(endpoint)
    topic, body = sub.recv_multipart()
    while topic != b"heartbeat":
        topic, body = sub.recv_multipart()
    print(json.dumps({"step": "subscribed", "heartbeat": json.loads(body)}))

    # Ask for a decision over REQ: one frame out, one frame back. The key is made once, with the request's
    # bytes, so every retry is the same request.
    call = {"call_id": "example-%d" % int(time.time() * 1000), "topic": "termination", "language": "ru",
            "identification": "ФИОПД", "customer": {"type": "person", "region": "moscow"},
            "facts": {"insists": True}, "notes": "модель телефона Xiaomi 12"}
    request = json.dumps({"id": "q-1", "table": args.table, "at": args.at, "call": call,
                          "idempotency_key": str(uuid.uuid4())}, ensure_ascii=False).encode()
    reply, tries = ask_lazy_pirate(ctx, queries, request, timeout_ms, args.tries)
    print(json.dumps({"step": "reply", "tries": tries, "reply": reply}, ensure_ascii=False))
    if "error" in reply:
        return 1

    # The same decision arrives as an event: topic frame, then the event JSON.
    while True:
        topic, body = sub.recv_multipart()
        if topic == b"heartbeat":
            continue
        event = json.loads(body)
        if event["call_id"] == call["call_id"]:
            break
    print(json.dumps({"step": "event", "topic": topic.decode(), "seq": event["seq"], "event_id": event["event_id"]}))

    # A subscriber that missed events asks a replay endpoint from the first seq it lacks; any engine of a
    # deployment answers the same, so a silent one is left for the next.
    replayed, _ = ask_lazy_pirate(ctx, replays, json.dumps({"from_seq": event["seq"], "max": 1}).encode(), timeout_ms, len(replays))
    same = replayed["events"] and replayed["events"][0]["event_id"] == event["event_id"]
    print(json.dumps({"step": "replay", "next_seq": replayed["next_seq"], "matches_event": bool(same)}))
    return 0 if same else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except zmq.Again:
        print(json.dumps({"step": "timeout"}))
        sys.exit(2)
