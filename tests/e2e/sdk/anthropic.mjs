// SPDX-License-Identifier: ISC
// Drives promptseal-client with Anthropic's official SDK, unchanged: the
// base URL is the client proxy's.  Prints one line per check and exits
// non-zero on the first failure.
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";

const client = new Anthropic({ baseURL: process.argv[2], apiKey: "sk-ant-test",
                               maxRetries: 0 });
const ok = (name) => console.log("ok " + name);

// With "cut", the relay between the proxies has dropped the stream's
// final record: the SDK must raise, not end the stream as if whole.
if (process.argv[3] === "cut") {
  const cut = client.messages.stream({
    model: "test-model", max_tokens: 64,
    messages: [{ role: "user", content: "a stream that is cut" }],
  });
  await assert.rejects((async () => { for await (const ev of cut) void ev; })(),
                       (e) => e instanceof Anthropic.APIError &&
                              e.error?.error?.code === "stream_truncated");
  ok("cut stream raised");
  process.exit(0);
}

const msg = await client.messages.create({
  model: "test-model", max_tokens: 64,
  messages: [{ role: "user", content: "Hallo, Claude ✓" }],
});
assert.equal(msg.content[0].type, "text");
assert.equal(msg.content[0].text, "echo: Hallo, Claude ✓");
assert.equal(msg.stop_reason, "end_turn");
ok("messages.create");

const stream = client.messages.stream({
  model: "test-model", max_tokens: 64,
  messages: [{ role: "user", content: "stream the Messages API" }],
});
const names = [];
let text = "";
for await (const ev of stream) {
  names.push(ev.type);
  if (ev.type === "content_block_delta") text += ev.delta.text;
}
const final = await stream.finalMessage();
assert.equal(text, "echo: stream the Messages API");
assert.equal(final.content[0].text, "echo: stream the Messages API");
assert.equal(names[0], "message_start");
assert.equal(names[names.length - 1], "message_stop");
ok("messages stream");

const tool = await client.messages.create({
  model: "test-model", max_tokens: 64,
  tools: [{ name: "lookup", description: "look it up",
            input_schema: { type: "object", properties: { text: { type: "string" } } } }],
  messages: [{ role: "user", content: "use the tool" }],
});
assert.equal(tool.stop_reason, "tool_use");
assert.equal(tool.content[0].type, "tool_use");
assert.equal(tool.content[0].name, "lookup");
assert.deepEqual(tool.content[0].input, { text: "echo: use the tool" });
ok("tools");

const tstream = client.messages.stream({
  model: "test-model", max_tokens: 64,
  tools: [{ name: "lookup", input_schema: { type: "object" } }],
  messages: [{ role: "user", content: "stream the tool" }],
});
const tfinal = await tstream.finalMessage();
assert.deepEqual(tfinal.content[0].input, { text: "echo: stream the tool" });
ok("tools stream");

const count = await client.messages.countTokens({
  model: "test-model", messages: [{ role: "user", content: "count these bytes" }],
});
assert.equal(count.input_tokens, Math.ceil("count these bytes".length / 4));
ok("countTokens");

// A proxy error (OpenAI shape, protocol.md section 6) is an API error
// with its status.
const elsewhere = new Anthropic({ baseURL: process.argv[2] + "/v9",
                                  apiKey: "sk-ant-test", maxRetries: 0 });
await assert.rejects(
  elsewhere.messages.create({ model: "test-model", max_tokens: 1,
                              messages: [{ role: "user", content: "x" }] }),
  (e) => e instanceof Anthropic.APIError && e.status === 404 &&
         e.error?.error?.code === "unknown_endpoint");
ok("proxy error");
