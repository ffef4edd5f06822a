import { describe, expect, it } from 'vitest';
import { ChatTemplateError, createChatRenderer, PLAIN_CHAT_TEMPLATE, specialTokenTexts } from '../../../shared/chat/chat-template.ts';
import { StopStringMatcher } from '../../../node-peer/api/stop-strings.ts';

/** TinyLlama-1.1B-Chat's template (Zephyr style), as its tokenizer_config.json ships it. */
const ZEPHYR =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
/** Llama 2 chat: writes BOS itself and refuses roles that do not alternate. */
const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

describe('chat templates (@huggingface/jinja)', () => {
  it('renders a model template with its special tokens and the generation prompt', () => {
    const r = createChatRenderer({ template: ZEPHYR, bosToken: '<s>', eosToken: '</s>' }).render([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'text', text: ' there' },
        ],
      },
    ]);
    expect(r.text).toBe('<|system|>\nBe brief.</s>\n<|user|>\nHi there</s>\n<|assistant|>\n');
    expect(r.hasBos).toBe(false);
  });

  it('reports a template that writes BOS, and turns raise_exception into ChatTemplateError', () => {
    const llama = createChatRenderer({ template: LLAMA2, bosToken: '<s>', eosToken: '</s>' });
    const r = llama.render([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Q' },
    ]);
    expect(r.text).toBe('<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nQ [/INST]');
    expect(r.hasBos).toBe(true);
    expect(() =>
      llama.render([
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ]),
    ).toThrow(ChatTemplateError);
  });

  it('uses the plain template for models without one', () => {
    const r = createChatRenderer({ template: null }).render([{ role: 'user', content: 'Once upon a time, a robot' }]);
    expect(r.text).toBe('User: Once upon a time, a robot\nAssistant:');
    expect(PLAIN_CHAT_TEMPLATE).toContain('add_generation_prompt');
  });

  it('reads BOS/EOS text from tokenizer.json added_tokens only', () => {
    const json = new TextEncoder().encode(
      JSON.stringify({
        added_tokens: [
          { id: 1, content: '<s>' },
          { id: 2, content: '</s>' },
        ],
      }),
    );
    expect(specialTokenTexts(json, 1, [2])).toEqual({ bosToken: '<s>', eosToken: '</s>' });
    expect(specialTokenTexts(new Uint8Array([0, 1, 2]), 1, [2])).toEqual({});
    expect(specialTokenTexts(undefined, 1, [2])).toEqual({});
  });
});

describe('StopStringMatcher', () => {
  const feed = (stops: string[], pieces: string[]): { out: string[]; stopped: boolean; rest: string } => {
    const m = new StopStringMatcher(stops);
    const out = pieces.map((p) => m.push(p));
    return { out, stopped: m.stopped, rest: m.end() };
  };

  it.each([
    { stops: ['END'], pieces: ['ab', 'cE', 'N', 'Dxyz'], out: ['ab', 'c', '', ''], stopped: true, rest: '' },
    { stops: ['END'], pieces: ['ab', 'cE', 'Nx'], out: ['ab', 'c', 'ENx'], stopped: false, rest: '' },
    { stops: ['\n\n', 'User:'], pieces: ['Hi', '\n', 'Us'], out: ['Hi', '', '\n'], stopped: false, rest: 'Us' },
    { stops: ['b', 'abc'], pieces: ['xab'], out: ['xa'], stopped: true, rest: '' },
    { stops: [], pieces: ['a', 'b'], out: ['a', 'b'], stopped: false, rest: '' },
  ])('$stops over $pieces', ({ stops, pieces, out, stopped, rest }) => {
    expect(feed(stops, pieces)).toEqual({ out, stopped, rest });
  });
});
