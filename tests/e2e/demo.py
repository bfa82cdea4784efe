# SPDX-License-Identifier: ISC
"""Start the whole promptseal chain on loopback, attestation service
included, and show the key exchange and one encrypted round trip: the
client's secret going to the AS and, after attestation, to the worker;
then the plain prompt in, what the wire between the proxies carried, the
plain reply out.  With --serve, keep it running until Ctrl-C so other
tools can use the client's base URL."""

import json
import os
import sys
import textwrap
import time

import chain as ch
import pswire


def show(title, obj):
    print("\n== " + title)
    text = obj if isinstance(obj, str) else json.dumps(obj, indent=2, ensure_ascii=False)
    for line in text.splitlines():
        print("   " + (line if len(line) <= 110 else line[:96] + " ...(%d chars)" % len(line)))


def log_lines(c, name, needle):
    """The messages (without time stamp and program) of a log that hold needle."""
    return [l.split(": ", 1)[1] for l in c.log(name).splitlines()
            if needle in l and ": " in l]


def key_exchange(c):
    """Wait for the client's first key, have keysync fetch it at once, and
    show what went where."""
    ch.wait_for(lambda: os.path.exists(c.key_state), "the client's first key")
    (kid, _, expires), = pswire.read_keyfile(c.key_state)
    # What a worker does when it meets a kid it does not know yet.
    c.keysync_now()
    # keysync logs the update just after the rename the reader sees.
    ch.wait_for(lambda: kid in [k for k, _, _ in pswire.read_keyfile(c.worker_keys)]
                and len(log_lines(c, "keysync.log", "key cache updated")) >= 2,
                "keysync to fetch the key")
    as_log = [l for l in log_lines(c, "as.log", "POST /as/v1/")
              if "/attest" in l or "/secrets" in l]
    with open(c.as_policy) as f:
        policy = [l for l in f.read().splitlines() if l and not l.startswith("#")]
    show("0. the client verifies the AS before its first key", "\n".join([
        "the user's trust policy (--as-policy):"] + ["  " + l[:100] for l in policy] + [
        "the AS enforces: " + log_lines(c, "as.log", "policy digest")[-1],
        "the client challenged the AS, checked its \"sim\" evidence (platform key,",
        "  AS measurement, its own challenge, the AS's key and policy digest bound),",
        "  and the AS's policy against its own; only then did it upload, the",
        "  secret sealed with HPKE to the attested key.  The AS logged, in order:"] +
        ["  " + l for l in as_log[:2]]))
    show("0b. the key exchange (no key was shared beforehand)", "\n".join([
        "the client proxy made kid %s (expires in %d s) and uploaded it over"
        % (kid.hex(), expires - time.time()),
        "  verified TLS with its bearer token, sealed to the AS; the AS logged:",
        "  " + log_lines(c, "as.log", "POST /as/v1/secrets")[-1],
        "keysync attested with \"sim\" evidence of measurement",
        "  %s..." % c.measurement[:48],
        "  and got the secrets wrapped to a one-time X25519 key; the AS logged:",
        "  " + log_lines(c, "as.log", "POST /as/v1/fetch 200")[-1],
        "keysync: " + log_lines(c, "keysync.log", "key cache updated")[-1],
        "the worker's key cache now holds kids: %s" % ", ".join(
            k.hex() for k, _, _ in pswire.read_keyfile(c.worker_keys))]))
    return kid


def main():
    serve = "--serve" in sys.argv
    c = ch.Chain(client_web="lighttpd", worker_web="lighttpd", as_web="lighttpd").start()
    try:
        print(textwrap.dedent("""\
            promptseal demo: everything runs on loopback
              user application -> http://127.0.0.1:%d/v1   (lighttpd + promptseal-client)
              client proxy     -> http://127.0.0.1:%d      (recording relay)
              worker side      -> http://127.0.0.1:%d      (lighttpd + promptseal-worker)
              inference server -> %s   (test stand-in)
              attestation svc  -> %s   (lighttpd with TLS + promptseal-as)
              worker's keysync -> polls the AS, fills the worker's key cache""" % (
            c.client_port, c.tamper.port, c.worker_port, c.inference_sock, c.as_url)))
        kid = key_exchange(c)
        prompt = {"model": "test-model", "messages": [
            {"role": "user", "content": "What is the capital of France?"}]}
        show("1. the user's application sends (plain)", prompt)
        st, _, reply = c.user_http.json("POST", "/v1/chat/completions", prompt)
        wire = json.loads(c.tamper.requests[-1])
        show("2. the wire from client to worker carried (kid %s)"
             % pswire.wire_kid(c.tamper.requests[-1]).hex(), wire)
        show("3. the inference server received (inside the worker)",
             json.loads(c.recorded()[-1]["body"]))
        show("4. the wire from worker to client carried", json.loads(c.tamper.responses[-1]))
        show("5. the user's application receives (HTTP %d, plain)" % st, reply)
        st, lines = c.user_http.stream("/v1/chat/completions", dict(prompt, stream=True))
        wire = [l for l in c.tamper.responses[-1].decode().splitlines() if l]
        if len(wire) > 5:
            wire = wire[:3] + ["   ... %d more events ..." % (len(wire) - 4)] + wire[-1:]
        show("6. a streamed reply on the wire (each event sealed whole, then a final record)",
             "\n".join(wire))
        show("7. the same stream as the user's application sees it",
             "\n".join(l for _, l in lines if l))
        if pswire.wire_kid(c.tamper.requests[-1]) != kid:
            print("\n(the client has rotated its key since)")
        if serve:
            print("\nserving; the OpenAI base URL is http://127.0.0.1:%d/v1 - Ctrl-C stops"
                  % c.client_port)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
    print("\nall processes stopped")


if __name__ == "__main__":
    main()
