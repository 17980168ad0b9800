// slm serve against the real `openai` npm client: chat, completions, streaming with usage, structured
// output checked by ajv, choice, logprobs, seeds and error objects. The server is started by the ctest
// driver (tests/serve/serve_e2e_test.cc), which passes SLM_SERVE_URL, SLM_SERVE_MODEL and SLM_SERVE_KEY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Ajv from 'ajv';

const url = process.env.SLM_SERVE_URL;
const model = process.env.SLM_SERVE_MODEL;
const skip = url ? false : 'SLM_SERVE_URL is not set (run through ctest, which starts slm serve)';
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: process.env.SLM_SERVE_KEY ?? 'none', maxRetries: 0, timeout: 60000 });
const hello = [{ role: 'user', content: 'Tell me a story.' }];

test('models lists the served model', { skip }, async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model]);
});

test('chat completion with usage', { skip }, async () => {
  const r = await client.chat.completions.create({ model, messages: hello, max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('greedy is repeatable and a seed repeats a sampled answer', { skip }, async () => {
  const a = await client.chat.completions.create({ model, messages: hello, max_tokens: 10, temperature: 0 });
  const b = await client.chat.completions.create({ model, messages: hello, max_tokens: 10, temperature: 0 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const s1 = await client.chat.completions.create({ model, messages: hello, max_tokens: 10, temperature: 1, seed: 7 });
  const s2 = await client.chat.completions.create({ model, messages: hello, max_tokens: 10, temperature: 1, seed: 7 });
  assert.equal(s1.choices[0].message.content, s2.choices[0].message.content);
});

test('streamed chat equals the full answer and ends with usage', { skip }, async () => {
  const full = await client.chat.completions.create({ model, messages: hello, max_tokens: 12, temperature: 0 });
  const stream = await client.chat.completions.create({
    model, messages: hello, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      text += ch.delta?.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.ok(chunks >= 2);
  assert.equal(text, full.choices[0].message.content);
  assert.equal(finish, full.choices[0].finish_reason);
  assert.deepEqual(usage, full.usage);
});

test('completions, plain and streamed, with n choices', { skip }, async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, temperature: 0, n: 2 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 2);
  assert.equal(r.choices[0].text, r.choices[1].text);  // greedy
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 12);
  const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, temperature: 0, stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
});

test('json_schema output validates against its schema (ajv)', { skip }, async () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 150 },
      mood: { enum: ['happy', 'sad', 'calm'] },
      tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 },
    },
    required: ['name', 'age', 'mood', 'tags'],
    additionalProperties: false,
  };
  const validate = new Ajv().compile(schema);
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({
      model, messages: hello, max_tokens: 200, temperature: 1, seed,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content);
    const value = JSON.parse(r.choices[0].message.content);
    assert.ok(validate(value), JSON.stringify(validate.errors));
  }
});

test('json_object output is a JSON object', { skip }, async () => {
  const r = await client.chat.completions.create({
    model, messages: hello, max_tokens: 200, temperature: 0, response_format: { type: 'json_object' },
  });
  if (r.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(r.choices[0].message.content);
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
  } else {
    assert.ok(r.choices[0].message.content.trimStart().startsWith('{'));
  }
});

test('choice extension answers one of the strings', { skip }, async () => {
  const choices = ['red', 'green', 'blue sky'];
  for (const seed of [1, 2, 3, 4]) {
    const r = await client.chat.completions.create({
      model, messages: hello, max_tokens: 20, temperature: 1, seed, response_format: { type: 'choice', choices },
    });
    assert.ok(choices.includes(r.choices[0].message.content), r.choices[0].message.content);
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
});

test('an unenforceable schema is a 400, not unconstrained output', { skip }, async () => {
  await assert.rejects(
    client.chat.completions.create({
      model, messages: hello,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', not: { const: 'a' } } } },
    }),
    (e) => e.status === 400 && /response_format/.test(e.message),
  );
});

test('chat logprobs with top_logprobs', { skip }, async () => {
  const r = await client.chat.completions.create({
    model, messages: hello, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens - (r.choices[0].finish_reason === 'stop' ? 1 : 0));
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[2].logprob);
    assert.equal(t.logprob, t.top_logprobs[0].logprob);  // greedy picks the most likely token
    assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
  }
});

test('completion logprobs', { skip }, async () => {
  const r = await client.completions.create({ model, prompt: 'Once', max_tokens: 4, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, lp.token_logprobs.length);
  assert.equal(lp.top_logprobs.length, lp.tokens.length);
  assert.ok(lp.token_logprobs.every((x) => x <= 0));
});

test('errors are OpenAI error objects', { skip }, async () => {
  const cases = [
    [{ model, messages: [] }, 400, 'messages'],
    [{ model, messages: hello, tools: [{ type: 'function', function: { name: 'f' } }] }, 400, 'tools'],
    [{ model, messages: hello, max_tokens: -1 }, 400, 'max_tokens'],
    [{ model, messages: hello, max_tokens: 100000000 }, 400, 'max_tokens'],
    [{ model, messages: hello, temperature: 'hot' }, 400, 'temperature'],
    [{ model, messages: hello, bogus: 1 }, 400, 'bogus'],
    [{ model: 'no-such-model', messages: hello }, 404, 'model'],
  ];
  for (const [body, status, param] of cases) {
    await assert.rejects(client.chat.completions.create(body), (e) => {
      assert.equal(e.status, status, JSON.stringify(body));
      assert.equal(e.error?.param ?? e.param, param);
      assert.ok(e.message.length > 0);
      return true;
    });
  }
});
