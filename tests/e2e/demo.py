"""Start the whole promptseal chain on loopback and show one encrypted
round trip: the plain prompt in, what the wire between the proxies
carried, the plain reply out.  With --serve, keep it running until
Ctrl-C so other tools can use the client's base URL."""

import json
import sys
import textwrap

import chain as ch


def show(title, obj):
    print("\n== " + title)
    text = obj if isinstance(obj, str) else json.dumps(obj, indent=2, ensure_ascii=False)
    for line in text.splitlines():
        print("   " + (line if len(line) <= 110 else line[:96] + " ...(%d chars)" % len(line)))


def main():
    serve = "--serve" in sys.argv
    c = ch.Chain(client_web="lighttpd", worker_web="lighttpd").start()
    try:
        print(textwrap.dedent("""\
            promptseal demo: everything runs on loopback
              user application -> http://127.0.0.1:%d/v1   (lighttpd + promptseal-client)
              client proxy     -> http://127.0.0.1:%d      (recording relay)
              worker side      -> http://127.0.0.1:%d      (lighttpd + promptseal-worker)
              inference server -> %s   (test stand-in)""" % (
            c.client_port, c.tamper.port, c.worker_port, c.inference_sock)))
        prompt = {"model": "test-model", "messages": [
            {"role": "user", "content": "What is the capital of France?"}]}
        show("1. the user's application sends (plain)", prompt)
        st, _, reply = c.user_http.json("POST", "/v1/chat/completions", prompt)
        show("2. the wire from client to worker carried", json.loads(c.tamper.requests[-1]))
        show("3. the inference server received (inside the worker)",
             json.loads(c.recorded()[-1]["body"]))
        show("4. the wire from worker to client carried", json.loads(c.tamper.responses[-1]))
        show("5. the user's application receives (HTTP %d, plain)" % st, reply)
        st, lines = c.user_http.stream("/v1/chat/completions", dict(prompt, stream=True))
        wire = [l for l in c.tamper.responses[-1].decode().splitlines() if l]
        if len(wire) > 5:
            wire = wire[:3] + ["   ... %d more events ..." % (len(wire) - 4)] + wire[-1:]
        show("6. a streamed reply on the wire (each event sealed, then an end record)",
             "\n".join(wire))
        show("7. the same stream as the user's application sees it",
             "\n".join(l for _, l in lines if l))
        if serve:
            print("\nserving; the OpenAI base URL is http://127.0.0.1:%d/v1 - Ctrl-C stops"
                  % c.client_port)
            import time
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
    print("\nall processes stopped")


if __name__ == "__main__":
    main()
