import { createChatRenderer, specialTokenTexts, type ChatMessage } from '../../shared/chat/chat-template.ts';
import type { AppState, ChatTurn } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';
import type { PageSession } from './page-session.ts';

export interface ChatOptions {
  readonly maxTokens: number;
  readonly temperature: number;
}

/**
 * The chat panel's logic: renders the conversation with the model's chat template (a model with
 * none continues the user's latest text instead), generates through the ring's requester, and
 * streams the reply into the store token by token. One reply at a time; `stop()` cancels it.
 */
export class ChatController {
  private abort: AbortController | null = null;

  constructor(
    private readonly app: Store<AppState>,
    private readonly session: () => PageSession | null,
    private readonly options: ChatOptions = { maxTokens: 64, temperature: 0 },
  ) {}

  get busy(): boolean {
    return this.abort !== null;
  }

  async send(text: string): Promise<void> {
    const session = this.session();
    const requester = session?.requester;
    const tokenizer = session?.tokenizer;
    const manifest = session?.manifest;
    if (this.busy || !requester || !tokenizer || !manifest || text.trim() === '') return;
    const history = this.app.get().chat.filter((t) => t.error === undefined && t.streaming !== true);
    const messages: ChatMessage[] = [...history, { role: 'user' as const, text }].map((t) => ({ role: t.role, content: t.text }));
    const tok = manifest.tokenizer;
    const special = specialTokenTexts(session?.tokenizerBytes ?? undefined, tok.bos, tok.eos);
    let rendered;
    try {
      // A model without a chat template (llama2.c checkpoints) only continues text: a "User: …"
      // transcript would be text it never saw, so the user's text alone is the prompt.
      rendered = tok.chatTemplate === null ? { text, hasBos: false } : createChatRenderer({ template: tok.chatTemplate, ...special }).render(messages);
    } catch (err) {
      // The chat's edge: a conversation the template refuses (e.g. roles not alternating) is shown, not thrown.
      this.setTurns([...this.app.get().chat, { role: 'user', text }, { role: 'assistant', text: '', streaming: false, error: (err as Error).message }]);
      return;
    }
    const prompt = tokenizer.encode(rendered.text, rendered.hasBos ? { bos: false } : {});
    const room = manifest.architecture.contextLength - prompt.length;
    this.setTurns([...this.app.get().chat, { role: 'user', text }, { role: 'assistant', text: '', streaming: true, tokens: 0 }]);
    if (room < 1)
      return this.finishLast({ error: `the conversation is longer than the model's context (${manifest.architecture.contextLength} tokens): clear it` });
    const abort = new AbortController();
    this.abort = abort;
    const decoder = tokenizer.createDecoder(prompt);
    const started = performance.now();
    let reply = '';
    let tokens = 0;
    try {
      for await (const ev of requester.generate(prompt, {
        maxTokens: Math.min(this.options.maxTokens, room),
        temperature: this.options.temperature,
        stop: tokenizer.eos,
        signal: abort.signal,
      })) {
        if (ev.kind !== 'token') break;
        tokens++;
        reply += decoder.push(ev.id);
        this.updateLast({ text: reply, tokens, tokensPerSecond: tokens / ((performance.now() - started) / 1000) });
      }
      reply += decoder.end();
      this.finishLast({ text: reply });
    } catch (err) {
      // The chat's edge: a failed request becomes an error line in the conversation.
      this.finishLast({ text: reply, error: (err as Error).message });
    } finally {
      this.abort = null;
    }
  }

  stop(): void {
    this.abort?.abort();
  }

  clear(): void {
    this.stop();
    this.setTurns([]);
  }

  private setTurns(chat: readonly ChatTurn[]): void {
    this.app.update({ chat });
  }

  private updateLast(patch: Partial<ChatTurn>): void {
    const chat = [...this.app.get().chat];
    const last = chat.at(-1);
    if (last === undefined) return;
    chat[chat.length - 1] = { ...last, ...patch };
    this.setTurns(chat);
  }

  private finishLast(patch: Partial<ChatTurn>): void {
    this.updateLast({ ...patch, streaming: false });
  }
}
