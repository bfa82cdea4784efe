#!/bin/sh
# SPDX-License-Identifier: ISC
# Drive tests/inference-server over its UNIX socket: every endpoint and
# test hook with curl --unix-socket, and the HTTP edge cases (garbage,
# caps, keep-alive, chunked bodies) with raw bytes from a small Python
# client.  Expected answers are written out in full: a change of a single
# byte in what the server sends fails the test.
#
# Environment: INFERENCE_SERVER (default ./tests/inference-server, relative
# to the build directory the test harness runs in).

set -u

SERVER=${INFERENCE_SERVER:-./tests/inference-server}
PY=/usr/bin/python3

if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl not found"
	exit 77
fi
if [ ! -x "$PY" ]; then
	echo "SKIP: $PY not found"
	exit 77
fi
if [ ! -x "$SERVER" ]; then
	echo "ERROR: $SERVER is not built"
	exit 99
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/infsrv.XXXXXX") || exit 99
SOCK=$TMP/s.sock
REC=$TMP/record
PID=
BGPID=

cleanup() {
	[ -n "$BGPID" ] && kill "$BGPID" 2>/dev/null
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failed=0
n=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	failed=1
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   expected: $2"
		echo "#   got:      $3"
	fi
}

# check_file NAME EXPECTED-FILE ACTUAL-FILE
check_file() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diff "$2" "$3" | sed 's/^/#   /' | head -20
	fi
}

# wait_socket PATH: until the server has put its socket in place (it
# appears only once it accepts), at most about 10 s.
# wait_socket PATH: until something accepts connections there (a stale
# socket file exists before the server has replaced it).
wait_socket() {
	i=0
	until "$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 1000 ]; then
			echo "Bail out! the server did not create $1"
			exit 1
		fi
		sleep 0.01
	done
}

# wait_gone PID: 0 once the process has exited, 1 if it is still running
# after about 10 s.
wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 1000 ]; then
			return 1
		fi
		sleep 0.01
	done
	return 0
}

start_server() {
	"$SERVER" --socket "$SOCK" --record "$REC" --events 3 "$@" &
	PID=$!
	wait_socket "$SOCK"
}

C() {
	curl -sS --max-time 30 --unix-socket "$SOCK" "$@"
}

# A raw client: send stdin, half-close, print everything read until the
# server closes.
cat >"$TMP/raw.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
try:
    s.sendall(sys.stdin.buffer.read())
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    out += b"\nTIMEOUT\n"
except OSError:
    pass
sys.stdout.buffer.write(out)
EOF

raw() {
	"$PY" "$TMP/raw.py" "$SOCK"
}

# The status line of a raw answer, without its CR.
status_of() {
	head -n 1 | tr -d '\r'
}

start_server

check "socket mode is 0666" "666" "$(stat -c %a "$SOCK")"
check "record file mode is 0600" "600" "$(stat -c %a "$REC")"

# ------------------------------------------------------------ models
check "GET /v1/models" \
	'{"object":"list","data":[{"id":"test-model","object":"model","created":1700000000,"owned_by":"promptseal"}]}' \
	"$(C http://localhost/v1/models)"

# ------------------------------------------------------------ chat
printf '%s' '{"model":"m1","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"first"},{"role":"assistant","content":"x"},{"role":"user","content":"Hi \"w\u00f6rld\"\n/\t\u0001 \u00e9"}]}' >"$TMP/chat1"
check "chat: echo of the last user message, escaped" \
	'{"id":"chatcmpl-test","object":"chat.completion","created":1700000000,"model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"echo: Hi \"wörld\"\n/\t\u0001 é"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}' \
	"$(C http://localhost/v1/chat/completions --data-binary @"$TMP/chat1")"

check "chat: text parts are concatenated, other parts skipped" \
	'{"id":"chatcmpl-test","object":"chat.completion","created":1700000000,"model":"test-model","choices":[{"index":0,"message":{"role":"assistant","content":"echo: abcd"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}' \
	"$(C http://localhost/v1/chat/completions -d '{"messages":[{"role":"user","content":[{"type":"text","text":"ab"},{"type":"image_url","image_url":{"url":"http://i"}},{"type":"text","text":"cd"}]}]}')"

check "chat: messages must be an array" \
	'{"error":{"message":"messages must be an array","type":"invalid_request_error","code":"invalid_request"}}' \
	"$(C http://localhost/v1/chat/completions -d '{"messages":"ps1:x"}')"

# ------------------------------------------------------------ chat stream
cat >"$TMP/exp_stream" <<'EOF'
data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"ech"},"finish_reason":null}]}

data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"o: "},"finish_reason":null}]}

data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}

data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: {"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}

data: [DONE]

EOF
C -N -D "$TMP/hdr" -o "$TMP/got_stream" http://localhost/v1/chat/completions \
	-d '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}'
check_file "chat stream: --events 3, usage chunk, [DONE]" "$TMP/exp_stream" "$TMP/got_stream"
check "chat stream: chunked event-stream" "2" \
	"$(grep -ci -e '^content-type: text/event-stream' -e '^transfer-encoding: chunked' "$TMP/hdr")"

# The reply "echo: " is 6 bytes; 8 events carry one byte each, then "".
C -N http://localhost/v1/chat/completions \
	-d '{"stream":true,"x_events":8,"messages":[{"role":"user","content":""}]}' >"$TMP/got"
check "chat stream: slices past the end are empty" \
	'"e" "c" "h" "o" ":" " " "" ""' \
	"$(grep -o '"content":"[^"]*"' "$TMP/got" | sed 's/"content"://' | tr '\n' ' ' | sed 's/ $//')"
check "chat stream: no usage chunk unless asked" "0" \
	"$(grep -c '"usage"' "$TMP/got")"

# Slices end on UTF-8 character boundaries: "echo: ééé" is 12 bytes, 5
# events get 3 bytes each, and the boundary at byte 9 falls inside the
# second é, so it moves to byte 10.
C -N http://localhost/v1/chat/completions \
	-d '{"stream":true,"x_events":5,"messages":[{"role":"user","content":"\u00e9\u00e9\u00e9"}]}' >"$TMP/got"
check "chat stream: slices on character boundaries" \
	'"ech" "o: " "éé" "é" ""' \
	"$(grep -o '"content":"[^"]*"' "$TMP/got" | sed 's/"content"://' | tr '\n' ' ' | sed 's/ $//')"

C -N http://localhost/v1/chat/completions \
	-d '{"stream":true,"x_events":3,"x_delay_ms":20,"messages":[{"role":"user","content":"hi"}]}' >"$TMP/got"
check "chat stream: x_delay_ms still delivers the whole stream" \
	"5 1" "$(grep -c '^data: ' "$TMP/got") $(grep -c '^data: \[DONE\]$' "$TMP/got")"

# ------------------------------------------------------------ completions
check "completions: echo of the last prompt" \
	'{"id":"cmpl-test","object":"text_completion","created":1700000000,"model":"c1","choices":[{"text":"echo: second","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}' \
	"$(C http://localhost/v1/completions -d '{"model":"c1","prompt":["first","second"]}')"

cat >"$TMP/exp_stream" <<'EOF'
data: {"id":"cmpl-test","object":"text_completion","created":1700000000,"model":"test-model","choices":[{"text":"echo:","index":0,"logprobs":null,"finish_reason":null}]}

data: {"id":"cmpl-test","object":"text_completion","created":1700000000,"model":"test-model","choices":[{"text":" xyz","index":0,"logprobs":null,"finish_reason":null}]}

data: {"id":"cmpl-test","object":"text_completion","created":1700000000,"model":"test-model","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}

data: [DONE]

EOF
C -N -o "$TMP/got_stream" http://localhost/v1/completions \
	-d '{"prompt":"xyz","stream":true,"x_events":2}'
check_file "completions stream" "$TMP/exp_stream" "$TMP/got_stream"

check "completions: prompt is required" \
	'{"error":{"message":"prompt is required","type":"invalid_request_error","code":"invalid_request"}}' \
	"$(C http://localhost/v1/completions -d '{"model":"c1"}')"

# ------------------------------------------------------------ embeddings
# The vector is recomputed here independently: component k is
# (FNV-1a-64(byte k + input) % 2049 - 1024) / 1024.
C http://localhost/v1/embeddings -d '{"model":"e1","input":["hello","w\u00f6rld"]}' >"$TMP/emb"
C http://localhost/v1/embeddings -d '{"input":"hello","encoding_format":"base64"}' >"$TMP/emb64"
C http://localhost/v1/embeddings -d '{"input":[1,2,3]}' >"$TMP/embtok"
check "embeddings: vectors, base64 form, token list" "ok" "$("$PY" - "$TMP" <<'EOF'
import base64, json, struct, sys
d = sys.argv[1]
def vec(b):
    out = []
    for k in range(8):
        h = 0xcbf29ce484222325
        for x in bytes([k]) + b:
            h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
        out.append((h % 2049 - 1024) / 1024)
    return out
def item(i, e):
    return {"object": "embedding", "index": i, "embedding": e}
exp = {"object": "list",
       "data": [item(0, vec(b"hello")), item(1, vec("wörld".encode()))],
       "model": "e1", "usage": {"prompt_tokens": 4, "total_tokens": 4}}
got = json.load(open(d + "/emb"))
if got != exp:
    print("float form differs:", got); sys.exit()
got = json.load(open(d + "/emb64"))
raw = base64.b64decode(got["data"][0]["embedding"])
if list(struct.unpack("<8f", raw)) != vec(b"hello") or got["model"] != "test-model":
    print("base64 form differs:", got); sys.exit()
got = json.load(open(d + "/embtok"))
if len(got["data"]) != 1 or got["data"][0]["embedding"] != vec(b"[1,2,3]"):
    print("token list form differs:", got); sys.exit()
print("ok")
EOF
)"

check "embeddings: input is required" \
	'{"error":{"message":"input must be a string or a non-empty array","type":"invalid_request_error","code":"invalid_request"}}' \
	"$(C http://localhost/v1/embeddings -d '{"input":[]}')"

# ------------------------------------------------------------ audio
# The file's SHA-256 is computed here with sha256sum; the expected texts
# are written out in full.
printf 'RIFF\001\002audio\r\n--not-the-boundary' >"$TMP/a.wav"
SHA=$(sha256sum "$TMP/a.wav" | cut -d' ' -f1)
AT="sha256=$SHA name=a.wav bytes=31 fields=model=w1&response_format"
check "transcription: json" \
	"{\"text\":\"$AT=json\",\"usage\":{\"type\":\"duration\",\"seconds\":1}}" \
	"$(C http://localhost/v1/audio/transcriptions -F "file=@$TMP/a.wav" -F model=w1 -F response_format=json)"
check "translation: verbose_json" \
	"{\"task\":\"translate\",\"language\":\"english\",\"duration\":1.0,\"text\":\"$AT=verbose_json\",\"segments\":[{\"id\":0,\"seek\":0,\"start\":0.0,\"end\":1.0,\"text\":\"$AT=verbose_json\",\"tokens\":[],\"temperature\":0.0,\"avg_logprob\":0.0,\"compression_ratio\":1.0,\"no_speech_prob\":0.0}],\"usage\":{\"type\":\"duration\",\"seconds\":1}}" \
	"$(C http://localhost/v1/audio/translations -F "file=@$TMP/a.wav" -F model=w1 -F response_format=verbose_json)"
check "transcription: text, as text/plain" \
	"text/plain; charset=utf-8|$AT=text" \
	"$(C -o "$TMP/atext" -w '%{content_type}' http://localhost/v1/audio/transcriptions -F "file=@$TMP/a.wav" -F model=w1 -F response_format=text)|$(cat "$TMP/atext")"
printf '1\n00:00:00,000 --> 00:00:01,000\n%s=srt\n\n' "$AT" >"$TMP/srt.exp"
C http://localhost/v1/audio/transcriptions -F "file=@$TMP/a.wav" -F model=w1 -F response_format=srt >"$TMP/srt.got"
check_file "transcription: srt" "$TMP/srt.exp" "$TMP/srt.got"
printf 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n%s=vtt\n\n' "$AT" >"$TMP/vtt.exp"
C http://localhost/v1/audio/transcriptions -F "file=@$TMP/a.wav" -F model=w1 -F response_format=vtt >"$TMP/vtt.got"
check_file "transcription: vtt" "$TMP/vtt.exp" "$TMP/vtt.got"
ST="sha256=$SHA name=a.wav bytes=31 fields=model=w1&stream=true&x_events=2"
printf 'data: {"type":"transcript.text.delta","delta":"%s","logprobs":[]}\n\ndata: {"type":"transcript.text.delta","delta":"%s","logprobs":[]}\n\ndata: {"type":"transcript.text.done","text":"%s","logprobs":[],"usage":{"type":"tokens","input_tokens":8,"output_tokens":33,"total_tokens":41}}\n\n' \
	"$(printf %s "$ST" | cut -c1-65)" "$(printf %s "$ST" | cut -c66-)" "$ST" >"$TMP/ast.exp"
C -N http://localhost/v1/audio/transcriptions -F "file=@$TMP/a.wav" -F model=w1 -F stream=true -F x_events=2 >"$TMP/ast.got"
check_file "transcription: stream" "$TMP/ast.exp" "$TMP/ast.got"
check "transcription: a form without a file" \
	'{"error":{"message":"not a form with a file","type":"invalid_request_error","code":"invalid_request"}}' \
	"$(C http://localhost/v1/audio/transcriptions -F model=w1)"
check "transcription: GET" \
	'{"error":{"message":"method not allowed","type":"invalid_request_error","code":"method_not_allowed"}}' \
	"$(C http://localhost/v1/audio/transcriptions)"

# ------------------------------------------------------------ test hooks
check "x_status: status and OpenAI error body" \
	'429 {"error":{"message":"test error","type":"test","code":"x_status"}}' \
	"$(C -w '%{http_code} ' -o "$TMP/got" http://localhost/v1/chat/completions -d '{"x_status":429}'; cat "$TMP/got")"
check "x_status on embeddings" "503" \
	"$(C -w '%{http_code}' -o /dev/null http://localhost/v1/embeddings -d '{"x_status":503,"input":"a"}')"
check "x_garbage: 200 with a body that is not JSON" "200 not json" \
	"$(C -w '%{http_code} ' -o "$TMP/got" http://localhost/v1/chat/completions -d '{"x_garbage":true}'; cat "$TMP/got")"

C -N -o "$TMP/got" http://localhost/v1/chat/completions \
	-d '{"stream":true,"x_events":5,"x_cut_after":2,"messages":[]}' 2>/dev/null
rc=$?
check "x_cut_after 2: broken transfer, 2 events, no [DONE]" "18 2 0" \
	"$rc $(grep -c '^data: ' "$TMP/got") $(grep -c 'DONE' "$TMP/got")"
C -N -o "$TMP/got" http://localhost/v1/completions \
	-d '{"stream":true,"x_events":2,"x_cut_after":100,"prompt":"p"}' 2>/dev/null
rc=$?
check "x_cut_after past the end: final chunk but no [DONE]" "18 3 1 0" \
	"$rc $(grep -c '^data: ' "$TMP/got") $(grep -c '"finish_reason":"stop"' "$TMP/got") $(grep -c 'DONE' "$TMP/got")"

# ------------------------------------------------------------ errors
check "unknown path: 404" \
	'404 {"error":{"message":"unknown path","type":"invalid_request_error","code":"unknown_endpoint"}}' \
	"$(C -w '%{http_code} ' -o "$TMP/got" http://localhost/v1/nothing; cat "$TMP/got")"
check "malformed JSON: 400" \
	'400 {"error":{"message":"body is not a JSON object","type":"invalid_request_error","code":"invalid_json"}}' \
	"$(C -w '%{http_code} ' -o "$TMP/got" http://localhost/v1/chat/completions -d '{"messages":['; cat "$TMP/got")"
check "JSON that is not an object: 400" "400" \
	"$(C -w '%{http_code}' -o /dev/null http://localhost/v1/completions -d '["prompt"]')"
check "trailing bytes after the object: 400" "400" \
	"$(C -w '%{http_code}' -o /dev/null http://localhost/v1/completions -d '{"prompt":"a"}x')"
check "wrong method: 405" "405 405" \
	"$(C -w '%{http_code}' -o /dev/null -X DELETE http://localhost/v1/models) $(C -w '%{http_code}' -o /dev/null http://localhost/v1/chat/completions)"

# ------------------------------------------------------------ HTTP
C -v http://localhost/v1/models http://localhost/v1/models \
	http://localhost/v1/models >/dev/null 2>"$TMP/err"
check "keep-alive: one connection for three requests" "2" \
	"$(grep -c 'Re-using existing connection' "$TMP/err")"

C -D "$TMP/hdr" -o /dev/null -H 'Connection: close' http://localhost/v1/models
check "Connection: close is answered in kind" "1" \
	"$(grep -ci '^connection: close' "$TMP/hdr")"

printf '%s' '{"prompt":"sent in chunks"}' >"$TMP/body"
check "chunked request body" '"echo: sent in chunks"' \
	"$(C -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/body" http://localhost/v1/completions | grep -o '"echo: [^"]*"')"

# Two pipelined requests on one connection, the second closing it.
printf 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{"prompt":"p"}' | raw >"$TMP/got"
check "pipelined requests: both answered in order" "2 1" \
	"$(grep -o 'HTTP/1.1 200 OK' "$TMP/got" | wc -l | tr -d ' ') $(tail -c 200 "$TMP/got" | grep -c '"echo: p"')"

printf 'POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{"pro\r\nA\r\nmpt":"abc"\r\n1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n' | raw >"$TMP/got"
check "chunked body with extensions and trailer, raw" "1" \
	"$(grep -c '"echo: abc"' "$TMP/got")"

printf 'GET /v1/models HTTP/1.0\r\n\r\n' | raw >"$TMP/got"
check "HTTP/1.0 is answered and closed" "HTTP/1.1 200 OK 1" \
	"$(status_of <"$TMP/got") $(grep -ci '^connection: close' "$TMP/got")"

printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n' | raw >"$TMP/got"
check "POST without a length: 411" "HTTP/1.1 411 Length Required" \
	"$(status_of <"$TMP/got")"

printf 'POST /v1/completions HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n' | raw >"$TMP/got"
check "Content-Length over 16 MiB: 413" "HTTP/1.1 413 Content Too Large" \
	"$(status_of <"$TMP/got")"

printf 'POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n' | raw >"$TMP/got"
check "chunk over 16 MiB: 413" "HTTP/1.1 413 Content Too Large" \
	"$(status_of <"$TMP/got")"

# A body of exactly 16 MiB is accepted and echoed whole.
"$PY" - "$TMP/big" <<'EOF'
import sys
head, tail = b'{"prompt":"', b'"}'
n = 16 * 1024 * 1024 - len(head) - len(tail)
open(sys.argv[1], "wb").write(head + b"a" * n + tail)
EOF
check "16 MiB body: 200 and the whole echo" "200 16777209" \
	"$(C -w '%{http_code} ' -o "$TMP/got" --data-binary @"$TMP/big" http://localhost/v1/completions; "$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["choices"][0]["text"]))' "$TMP/got")"
rm -f "$TMP/big" "$TMP/got"

# ------------------------------------------------------------ garbage
printf 'GARBAGE\r\n\r\n' | raw >"$TMP/got"
check "bad request line: 400" "HTTP/1.1 400 Bad Request" "$(status_of <"$TMP/got")"

printf 'GET /v1/models HTTP/7.0\r\n\r\n' | raw >"$TMP/got"
check "unknown HTTP version: 505" "HTTP/1.1 505 HTTP Version Not Supported" \
	"$(status_of <"$TMP/got")"

printf '\001\377\000\033[2J GET\r\n\r\n' | raw >"$TMP/got"
check "binary garbage: 400" "HTTP/1.1 400 Bad Request" "$(status_of <"$TMP/got")"

"$PY" -c 'import sys; sys.stdout.write("GET /v1/models HTTP/1.1\r\nX-Big: " + "b" * 70000 + "\r\n\r\n")' | raw >"$TMP/got"
check "huge header: 431" "HTTP/1.1 431 Request Header Fields Too Large" \
	"$(status_of <"$TMP/got")"

"$PY" -c 'import sys; sys.stdout.write("G" * 200000)' | raw >"$TMP/got"
check "endless request line: 431" "HTTP/1.1 431 Request Header Fields Too Large" \
	"$(status_of <"$TMP/got")"

printf 'POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"prompt"' | raw >"$TMP/got"
check "truncated body: closed without an answer" "0" "$(wc -c <"$TMP/got" | tr -d ' ')"

printf 'POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' | raw >"$TMP/got"
check "bad chunk size: 400" "HTTP/1.1 400 Bad Request" "$(status_of <"$TMP/got")"

printf 'POST /v1/completions HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}' | raw >"$TMP/got"
check "conflicting Content-Length: 400" "HTTP/1.1 400 Bad Request" "$(status_of <"$TMP/got")"

printf 'GET /v1/models HTTP/1.1\r\n folded: x\r\n\r\n' | raw >"$TMP/got"
check "folded header: 400" "HTTP/1.1 400 Bad Request" "$(status_of <"$TMP/got")"

check "still serving after the garbage" "200" \
	"$(C -w '%{http_code}' -o /dev/null http://localhost/v1/models)"

# ------------------------------------------------------------ record
"$PY" - "$REC" "$TMP/chat1" <<'EOF' >"$TMP/got"
import base64, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
body = open(sys.argv[2], "rb").read()
ok = lines[-1] == b""
ok = ok and lines[0] == b"GET /v1/models "
seen = 0
for l in lines[:-1]:
    m, p, b = l.split(b" ")
    if m == b"POST" and p == b"/v1/chat/completions" and base64.b64decode(b, validate=True) == body:
        seen += 1
print("ok" if ok and seen == 1 else "bad")
EOF
check "record: exact request bytes, one line each" "ok" "$(cat "$TMP/got")"
check "record: chunked body recorded decoded" "1" \
	"$(grep -c "^POST /v1/completions $(base64 -w0 <"$TMP/body")\$" "$REC")"

# ------------------------------------------------------------ lifecycle
"$SERVER" --socket "$SOCK" 2>"$TMP/err"
check "a second server refuses a live socket" "1 1" \
	"$? $(grep -c 'in use' "$TMP/err")"

# SIGTERM during a slow stream: the server ends the stream and exits.
C -N -o /dev/null http://localhost/v1/chat/completions \
	-d '{"stream":true,"x_events":1000,"x_delay_ms":1000,"messages":[]}' 2>/dev/null &
BGPID=$!
sleep 0.2
kill -TERM "$PID"
if wait_gone "$PID"; then
	wait "$PID"
	check "SIGTERM: exit status 0" "0" "$?"
else
	not_ok "SIGTERM: exit status 0 (still running)"
	kill -KILL "$PID"
fi
PID=
wait "$BGPID" 2>/dev/null
BGPID=
check "SIGTERM: socket removed" "no" "$([ -e "$SOCK" ] && echo yes || echo no)"

# A stale socket file (nobody listening) is replaced.
"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
start_server
check "stale socket replaced" "200" \
	"$(C -w '%{http_code}' -o /dev/null http://localhost/v1/models)"
kill -INT "$PID"
wait "$PID"
check "SIGINT: exit status 0" "0" "$?"
PID=

"$SERVER" --help >/dev/null
check "--help exits 0" "0" "$?"
"$SERVER" --socket "$SOCK" --events 0 2>/dev/null
check "bad option value exits 2" "2" "$?"

echo "1..$n"
exit $failed
