// SPDX-License-Identifier: ISC
// Drives promptseal-client with the official OpenAI SDK, unchanged, on the
// Responses API and models.retrieve: the base URL is the client proxy's.
// Prints one line per check and exits non-zero on the first failure.
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sk-test", maxRetries: 0 });
const ok = (name) => console.log("ok " + name);

// With "cut", the relay between the proxies has dropped the stream's
// final record: the SDK must raise, not end the stream as if whole.
if (process.argv[3] === "cut") {
  const cut = await client.responses.create({
    model: "test-model", input: "a stream that is cut", stream: true,
  });
  await assert.rejects((async () => { for await (const ev of cut) void ev; })(),
                       (e) => e instanceof OpenAI.APIError &&
                              e.code === "stream_truncated");
  ok("cut stream raised");
  process.exit(0);
}

const r = await client.responses.create({
  model: "test-model", input: "Hallo, Responses ✓", max_output_tokens: 50,
});
assert.equal(r.output_text, "echo: Hallo, Responses ✓");
assert.equal(r.status, "completed");
assert.match(r.id, /^resp_/);
ok("responses.create");

const stream = await client.responses.create({
  model: "test-model", input: "stream the Responses API", stream: true,
});
let text = "", last = null, seq = -1;
for await (const ev of stream) {
  assert.equal(ev.sequence_number, seq + 1);
  seq = ev.sequence_number;
  if (ev.type === "response.output_text.delta") text += ev.delta;
  last = ev;
}
assert.equal(text, "echo: stream the Responses API");
assert.equal(last.type, "response.completed");
assert.equal(last.response.output_text ?? last.response.output[0].content[0].text,
             "echo: stream the Responses API");
ok("responses stream");

const got = await client.responses.retrieve(r.id);
assert.equal(got.id, r.id);
assert.equal(got.output_text, "echo: Hallo, Responses ✓");
ok("responses.retrieve");

const items = await client.responses.inputItems.list(r.id, { limit: 2 });
const all = [];
for await (const it of items) all.push(it);
assert.equal(all.length, 1);
assert.equal(all[0].content[0].text, "Hallo, Responses ✓");
ok("responses.inputItems.list");

const cancelled = await client.responses.cancel(r.id);
assert.equal(cancelled.status, "cancelled");
ok("responses.cancel");

await client.responses.delete(r.id);
await assert.rejects(client.responses.retrieve(r.id),
                     (e) => e instanceof OpenAI.APIError && e.status === 404);
ok("responses.delete");

const m = await client.models.retrieve("org/test-model");
assert.equal(m.id, "org/test-model");
ok("models.retrieve");

// A proxy error is an API error with its status.
await assert.rejects(client.models.retrieve("not an id"),
                     (e) => e instanceof OpenAI.APIError && e.status === 404 &&
                            e.code === "unknown_endpoint");
ok("proxy error");
