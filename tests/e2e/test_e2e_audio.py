# SPDX-License-Identifier: ISC
"""The audio endpoints (multipart/form-data) through the whole chain:
the official OpenAI SDK and curl -F, what crosses between the proxies,
and tampering with each element of the multipart wire form
(protocol.md section 4, "Multipart bodies")."""

import base64
import hashlib
import json
import os
import struct
import time
import unittest

import cases
import chain as ch
import pswire

TRANSCRIBE = "/v1/audio/transcriptions"
TRANSLATE = "/v1/audio/translations"
BOUNDARY = b"----promptsealAudioTestBoundary5e1f"
FILENAME = b"confidential-board-meeting.wav"
PROMPT = b"names: Quintessa Vandermolen, Project Nightjar"


def wav(n=6000):
    """A small WAV: RIFF header and 16-bit mono PCM in a pattern of its
    own, with a marker that must never be seen between the proxies."""
    pcm = bytes(((i * 29 + 3) ^ (i >> 5)) & 0xff for i in range(n))
    pcm = pcm[:1000] + b"AUDIO-MARKER-91f3" + pcm[1017:]
    head = (b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) +
            b"data" + struct.pack("<I", n))
    return head + pcm


AUDIO = wav()


def form(fields=(("model", b"whisper-1"),), audio=AUDIO, filename=FILENAME,
         extra=()):
    """(Content-Type, body) of a form: the file first, then fields."""
    parts = [(b"file", audio, filename, b"audio/wav")]
    parts += [(n.encode() if isinstance(n, str) else n, v, None, None)
              for n, v in fields]
    parts += list(extra)
    ct = b"multipart/form-data; boundary=" + BOUNDARY
    return ct.decode(), pswire.multipart_body(parts, BOUNDARY)


def expect_text(audio=AUDIO, filename=FILENAME, fields="model=whisper-1"):
    return "sha256=%s name=%s bytes=%d fields=%s" % (
        hashlib.sha256(audio).hexdigest(), filename.decode(), len(audio), fields)


class AudioCase(cases.ChainCase):

    def send(self, path=TRANSCRIBE, ct_body=None, **kw):
        ct, body = ct_body or form(**kw)
        return self.user.request("POST", path, body, headers={"Content-Type": ct})

    def send_json(self, *a, **kw):
        st, hdrs, data = self.send(*a, **kw)
        return st, hdrs, json.loads(data) if data else None

    def recorded(self):
        """(path, body bytes) of each request the inference server got."""
        out = []
        p = os.path.join(self.chain.dir, "inference.record")
        if os.path.exists(p):
            with open(p) as f:
                for line in f:
                    method, path, body = line.rstrip("\n").split(" ")
                    out.append((path, base64.b64decode(body)))
        return out

    def tamper(self, mode, arg=None):
        self.chain.tamper.mode = mode
        self.chain.tamper.arg = arg

    def run_sdk(self):
        out = self.node("audio.mjs", "http://127.0.0.1:%d/v1" % self.chain.client_port)
        self.assertEqual(out.count("ok "), 5)

    def round_trips(self):
        fields = (("model", b"whisper-1"), ("response_format", b"json"))
        st, hdrs, body = self.send_json(fields=fields)
        self.assertEqual(st, 200, body)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        self.assertEqual(body["text"], expect_text(
            fields="model=whisper-1&response_format=json"))
        self.assertEqual(body["usage"], {"type": "duration", "seconds": 1})
        # The inference server got the user's exact bytes.
        ct, sent = form(fields=fields)
        self.assertEqual(self.recorded()[-1], (TRANSCRIBE, sent))
        st, _, body = self.send_json(TRANSLATE, fields=(
            ("model", b"whisper-1"), ("response_format", b"verbose_json")))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["task"], "translate")
        self.assertEqual(body["segments"][0]["text"], expect_text(
            fields="model=whisper-1&response_format=verbose_json"))
        for fmt, shape in (("text", "%s\n"),
                           ("srt", "1\n00:00:00,000 --> 00:00:01,000\n%s\n\n"),
                           ("vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n%s\n\n")):
            st, hdrs, data = self.send(fields=(("model", b"whisper-1"),
                                               ("response_format", fmt.encode())))
            self.assertEqual(st, 200, data)
            # Shown with the media type the reply is bound to.
            self.assertEqual(hdrs["content-type"], "text/plain")
            self.assertEqual(data.decode(), shape % expect_text(
                fields="model=whisper-1&response_format=" + fmt))

    def stream(self, fields=(("model", b"whisper-1"), ("stream", b"true"),
                             ("x_events", b"4"))):
        ct, body = form(fields=fields)
        c = ch.http.client.HTTPConnection("127.0.0.1", self.chain.client_port,
                                          timeout=30)
        try:
            c.request("POST", TRANSCRIBE, body=body, headers={"Content-Type": ct})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            data = r.read().decode()
        finally:
            c.close()
        return [l[6:] for l in data.split("\n") if l.startswith("data: ")]

    def check_stream(self):
        events = [json.loads(e) for e in self.stream()]
        want = expect_text(fields="model=whisper-1&stream=true&x_events=4")
        self.assertEqual([e["type"] for e in events],
                         ["transcript.text.delta"] * 4 + ["transcript.text.done"])
        self.assertEqual("".join(e["delta"] for e in events[:-1]), want)
        self.assertEqual(events[-1]["text"], want)


class LighttpdApache(AudioCase):
    """Client behind lighttpd, worker behind Apache: every check."""

    CHAIN = dict(client_web="lighttpd", worker_web="apache")

    def test_round_trips(self):
        self.round_trips()

    def test_stream(self):
        self.check_stream()

    def test_sdk(self):
        self.run_sdk()

    def test_curl(self):
        path = os.path.join(self.chain.dir, "curl voice.wav")
        with open(path, "wb") as f:
            f.write(AUDIO)
        base = "http://127.0.0.1:%d/v1" % self.chain.client_port
        for url, fmt in ((base + TRANSCRIBE[3:], "json"), (base + TRANSLATE[3:], "text")):
            out = self.curl(url, "-F", "file=@%s;type=audio/wav" % path,
                            "-F", "model=whisper-1", "-F", "response_format=" + fmt)
            want = expect_text(filename=b"curl voice.wav",
                               fields="model=whisper-1&response_format=" + fmt)
            self.assertEqual(json.loads(out)["text"] if fmt == "json" else out,
                             want if fmt == "json" else want + "\n")

    def test_nothing_sealed_in_clear(self):
        fields = (("model", b"whisper-1"), ("prompt", PROMPT),
                  ("language", b"xq-secret-lang"), ("response_format", b"srt"))
        st, _, data = self.send(fields=fields)
        self.assertEqual(st, 200, data)
        self.check_stream()
        t = self.chain.tamper
        for needle in (b"AUDIO-MARKER-91f3", AUDIO[2000:2032], FILENAME, PROMPT,
                       b"xq-secret-lang", b"sha256=", b"transcript.text",
                       BOUNDARY, b"form-data", b"Content-Disposition"):
            self.assertFalse(t.saw(needle), needle)
        # The wire: the plain copies as JSON strings, the envelope last,
        # sent as JSON.
        wire = json.loads(t.requests[-2])
        self.assertEqual(list(wire), ["model", "ps2"])
        self.assertEqual(wire["model"], "whisper-1")
        self.assertEqual(list(json.loads(t.requests[-1])), ["model", "stream", "ps2"])
        self.assertTrue(all("Content-Type: application/json" in h[2]
                            for h in t.heads[-2:]))
        # A text reply crosses as {"ps2": ...} only, with its media type.
        self.assertEqual(list(json.loads(t.responses[-2])), ["ps2"])

    def test_plain_field_escaping(self):
        # A model name with a quote, a backslash, a control byte and
        # non-ASCII: one canonical JSON string on the wire.
        model = 'wh"is\\per\t-1 ü'.encode()
        st, _, body = self.send_json(fields=(("model", model),))
        self.assertEqual(st, 200, body)
        self.assertEqual(body["text"], expect_text(fields="model=" + model.decode()))
        wire = self.chain.tamper.requests[-1]
        self.assertTrue(wire.startswith(b'{"model":"wh\\"is\\\\per\\u0009-1 \xc3\xbc",'),
                        wire[:60])

    def test_sealed_multipart_changed(self):
        before = len(self.recorded())
        self.tamper("flip_request")
        self.assertError(400, "decrypt_failed", self.send_json())
        self.assertEqual(len(self.recorded()), before)

    def test_plain_copies_changed(self):
        before = len(self.recorded())
        for edit in ({"model": "cheap-model"}, {"model": None},
                     {"stream": "true"}, {"language": "en"},
                     # The filename is sealed: naming one on the wire, or
                     # a file, only breaks the request.
                     {"filename": "evil.wav"}, {"file": "evil"}):
            self.tamper("edit_request", edit)
            self.assertError(400, "decrypt_failed", self.send_json())
        self.tamper("edit_request", {"model": "whisper-1 "})
        self.assertError(400, "decrypt_failed", self.send_json())
        self.assertEqual(len(self.recorded()), before)
        # Untouched, the worker's side gets the user's filename.
        self.chain.tamper.reset()
        st, _, body = self.send_json()
        self.assertEqual(st, 200, body)
        self.assertIn("name=" + FILENAME.decode(), body["text"])

    def test_reply_relabelled(self):
        fields = (("model", b"whisper-1"), ("response_format", b"text"))
        for ct in ("application/json", "text/html"):
            self.tamper("relabel_type", (None, ct))
            self.assertError(502, "bad_upstream_response", self.send_json(fields=fields))
        # Parameters are not bound (protocol.md section 3): the same media
        # type with a charset is the same reply.
        self.tamper("relabel_type", (None, "text/plain; charset=utf-8"))
        st, hdrs, data = self.send(fields=fields)
        self.assertEqual((st, hdrs["content-type"]), (200, "text/plain"), data)
        # A JSON reply relabelled as text.
        self.tamper("relabel_type", (None, "text/plain"))
        self.assertError(502, "bad_upstream_response", self.send_json())
        # A text reply's wire form with a plain member added.
        self.tamper("edit_reply", {"usage": {"seconds": 1}})
        self.assertError(502, "bad_upstream_response", self.send_json(fields=fields))

    def test_text_reply_status_relabelled(self):
        self.tamper("relabel_status", 201)
        self.assertError(502, "bad_upstream_response", self.send_json(
            fields=(("model", b"whisper-1"), ("response_format", b"vtt"))))

    def test_stream_event_changed(self):
        self.tamper("flip_event", 1)
        events = self.stream()
        last = json.loads(events[-1])
        self.assertEqual(last["error"]["code"], "decrypt_failed", events)
        self.tamper("drop_end")
        events = self.stream()
        self.assertEqual(json.loads(events[-1])["error"]["code"], "stream_truncated")

    def test_request_replayed_to_the_other_endpoint(self):
        # A transcription sent to the translation endpoint by the relay.
        self.tamper("reroute", TRANSLATE)
        self.assertError(400, "decrypt_failed", self.send_json())

    def test_refused_by_the_client(self):
        before = len(self.chain.tamper.requests)
        # Not multipart: 415, whatever the body.
        st, hdrs, body = self.user.json("POST", TRANSCRIBE, {"model": "whisper-1"})
        self.assertError(415, "unsupported_media_type", (st, hdrs, body))
        ct, body = form()
        bad = [
            # no boundary, two boundaries, another parameter
            ("multipart/form-data", body),
            (ct + "; boundary=x", body),
            (ct + "; charset=utf-8", body),
            # a preamble, LF line ends, no close delimiter, an epilogue
            (ct, b"preamble\r\n" + body),
            (ct, body.replace(b"\r\n", b"\n")),
            (ct, body[:-len(BOUNDARY) - 6]),
            (ct, body + b"epilogue"),
            # a plain field twice, or sent as a file
            form(fields=(("model", b"a"), ("model", b"b"))),
            form(fields=(), extra=[(b"model", b"whisper-1", b"m.txt", None)]),
            # a plain field that is not UTF-8
            form(fields=(("model", b"\xff\xfe"),)),
            # a part without Content-Disposition, or another header
            (ct, body.replace(b'Content-Disposition: form-data; name="model"',
                              b'X-Other: 1')),
            (ct, body.replace(b"Content-Type: audio/wav", b"Content-Length: 6044")),
            # filename* (RFC 7578 forbids it)
            (ct, body.replace(b'; filename="', b'; filename*="')),
        ]
        for ct_body in bad:
            self.assertError(400, "invalid_multipart",
                             self.send_json(ct_body=(ct_body[0] if isinstance(
                                 ct_body[0], str) else ct_body[0].decode(),
                                 ct_body[1])))
        # Too many parts, and a part header section over the cap.
        many = [(b"f%d" % i, b"v", None, None) for i in range(pswire.MULTIPART_PARTS)]
        self.assertError(400, "invalid_multipart", self.send_json(
            ct_body=form(extra=many)))
        long_ct = b"x" * (pswire.MULTIPART_HEADER)
        self.assertError(400, "invalid_multipart", self.send_json(
            ct_body=form(extra=[(b"f", b"v", None, long_ct)])))
        self.assertEqual(len(self.chain.tamper.requests), before)

    def test_refused_by_the_worker(self):
        # What only a relay could send: no envelope, a sealed field in
        # clear, a well-formed envelope with a content not a form.
        w = self.chain.worker_http
        st, hdrs, body = w.json("POST", TRANSCRIBE, {"model": "whisper-1"})
        self.assertError(400, "invalid_envelope", (st, hdrs, body))
        st, hdrs, body = w.json("POST", TRANSCRIBE, {"model": "whisper-1",
                                                     "prompt": "in clear"})
        self.assertError(400, "plaintext_member", (st, hdrs, body))
        ct, body = form()
        st, hdrs, data = w.request("POST", TRANSCRIBE, body, headers={"Content-Type": ct})
        self.assertError(415, "unsupported_media_type", (st, hdrs, json.loads(data)))
        kid, secret, _ = self.chain.keys[0]
        # Sealed by a key holder, but not a form: decrypt_failed.
        nonce = os.urandom(16)
        env = pswire.seal_envelope(secret, pswire.Q, kid, nonce, None, 0, False,
                                   pswire.ctx_request("POST", TRANSCRIBE),
                                   pswire.multipart_content(int(time.time()), b"",
                                                            ct.encode(), b"not a form"))
        st, hdrs, data = w.request("POST", TRANSCRIBE, b'{"ps2":"' + env + b'"}')
        self.assertError(400, "decrypt_failed", (st, hdrs, json.loads(data)))
        # The reference's own sealing is accepted as is.
        wire = pswire.seal_multipart_request(secret, kid, os.urandom(16), TRANSCRIBE,
                                             ct.encode(), body)
        st, hdrs, data = w.request("POST", TRANSCRIBE, wire)
        self.assertEqual(st, 200, data)
        self.assertEqual(hdrs.get("promptseal-encrypted"), "true")


class ApacheLighttpd(AudioCase):
    """The other order: the SDK, curl-free round trips and a stream."""

    CHAIN = dict(client_web="apache", worker_web="lighttpd",
                 client_args=["--max-body", "64K"])

    def test_round_trips(self):
        self.round_trips()
        self.check_stream()

    def test_max_body(self):
        # --max-body caps the form as it caps JSON.
        big = wav(70000)
        self.assertError(413, "body_too_large", self.send_json(audio=big))
        small = wav(60000)
        st, _, body = self.send_json(audio=small)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["text"], expect_text(audio=small))

    def test_sdk(self):
        self.run_sdk()


if __name__ == "__main__":
    unittest.main(verbosity=2)
