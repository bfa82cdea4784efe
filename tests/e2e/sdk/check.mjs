// SPDX-License-Identifier: ISC
// Drives promptseal-client with the official OpenAI SDK, unchanged: the
// base URL is the client proxy's.  Prints one line per check and exits
// non-zero on the first failure.
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sk-test", maxRetries: 0 });
const ok = (name) => console.log("ok " + name);

const chat = await client.chat.completions.create({
  model: "test-model",
  messages: [{ role: "user", content: "Hallo, SDK ✓" }],
});
assert.equal(chat.choices[0].message.content, "echo: Hallo, SDK ✓");
ok("chat");

let text = "";
const stream = await client.chat.completions.create({
  model: "test-model", stream: true,
  messages: [{ role: "user", content: "stream through the SDK" }],
});
for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
assert.equal(text, "echo: stream through the SDK");
ok("chat stream");

const comp = await client.completions.create({ model: "test-model", prompt: "complete me" });
assert.equal(comp.choices[0].text, "echo: complete me");
ok("completions");

text = "";
const cstream = await client.completions.create({ model: "test-model", prompt: "c", stream: true });
for await (const chunk of cstream) text += chunk.choices[0]?.text ?? "";
assert.equal(text, "echo: c");
ok("completions stream");

const emb = await client.embeddings.create({ model: "test-model", input: "embed me" });
assert.equal(emb.data[0].embedding.length, 8);
ok("embeddings");

const models = await client.models.list();
assert.equal(models.data[0].id, "test-model");
ok("models");

// A stream cut off upstream ends in an error the SDK raises, not a clean end.
await assert.rejects(async () => {
  const s = await client.chat.completions.create({
    model: "test-model", stream: true, x_events: 5, x_cut_after: 2,
    messages: [{ role: "user", content: "cut" }],
  });
  for await (const _ of s) { /* drain */ }
}, (e) => e instanceof OpenAI.APIError);
ok("cut stream raises");

// A proxy error reaches the SDK as an API error with its code.
await assert.rejects(client.post("/nothing", { body: {} }),
  (e) => e instanceof OpenAI.NotFoundError && e.code === "unknown_endpoint");
ok("errors raise");
