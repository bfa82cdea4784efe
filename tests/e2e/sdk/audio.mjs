// SPDX-License-Identifier: ISC
// Drives promptseal-client's audio endpoints with the official OpenAI SDK,
// unchanged: transcriptions and translations of a small WAV made here
// (multipart/form-data, as the SDK writes it), json and text formats and
// a streamed transcription.  The test inference server answers with the
// SHA-256 of the file it got, so each check proves that the exact bytes
// and filename crossed.  Prints one line per check; exits non-zero on
// the first failure.
import OpenAI, { toFile } from "openai";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sk-test", maxRetries: 0 });
const ok = (name) => console.log("ok " + name);

// 44-byte RIFF header, then 4000 bytes of 16-bit mono PCM in a pattern
// no other test uses.
function wav() {
  const n = 4000, b = Buffer.alloc(44 + n);
  b.write("RIFF", 0); b.writeUInt32LE(36 + n, 4); b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write("data", 36); b.writeUInt32LE(n, 40);
  for (let i = 0; i < n; i++) b[44 + i] = (i * 151 + 7) & 0xff;
  return b;
}
const bytes = wav();
const sha = createHash("sha256").update(bytes).digest("hex");
const name = "sdk-voice-memo.wav";
const file = () => toFile(bytes, name, { type: "audio/wav" });
const head = `sha256=${sha} name=${name} bytes=${bytes.length} fields=`;

const tr = await client.audio.transcriptions.create({ file: await file(), model: "whisper-1" });
assert.ok(tr.text.startsWith(head), tr.text);
assert.ok(tr.text.includes("model=whisper-1"), tr.text);
ok("transcription json");

const txt = await client.audio.transcriptions.create({
  file: await file(), model: "whisper-1", response_format: "text", language: "de",
});
assert.equal(typeof txt, "string");
assert.ok(txt.startsWith(head), txt);
assert.ok(txt.includes("language=de"), txt);
ok("transcription text");

let deltas = "", done = null;
const stream = await client.audio.transcriptions.create({
  file: await file(), model: "whisper-1", stream: true,
});
for await (const ev of stream) {
  if (ev.type === "transcript.text.delta") deltas += ev.delta;
  else if (ev.type === "transcript.text.done") done = ev.text;
}
assert.ok(done !== null && done.startsWith(head), String(done));
assert.equal(deltas, done);
ok("transcription stream");

const tl = await client.audio.translations.create({ file: await file(), model: "whisper-1" });
assert.ok(tl.text.startsWith(head), tl.text);
ok("translation json");

const tlt = await client.audio.translations.create({
  file: await file(), model: "whisper-1", response_format: "text",
});
assert.equal(typeof tlt, "string");
assert.ok(tlt.startsWith(head), tlt);
ok("translation text");
