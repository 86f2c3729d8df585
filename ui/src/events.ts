// The page's one /events stream, shared by every view that shows something
// events change: lists refetch when an event of their kind arrives, instead of
// polling. When the stream ends it is reopened with back-off, and listeners hear
// `null` ("you may have missed events: refetch").

import { ApiError, eventStream } from './api';
import { num, obj, str, stringMap } from './json';
import { JsonLinesDecoder, readChunks } from './streams';

export interface DockerEvent {
  type: string;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
  time: number;
}

type Listener = (event: DockerEvent | null) => void;
export type EventsState = 'connecting' | 'live' | 'down';

const listeners = new Map<Listener, readonly string[]>();
let stateListener: (state: EventsState) => void = () => undefined;
let started = false;

const FIRST_RETRY_MS = 1000;
// The stream lives as long as the page does: nothing ever aborts it.
const PAGE_LIFETIME = new AbortController().signal;
const LAST_RETRY_MS = 30_000;

/** Calls `listener` for events of `types` until `signal` aborts. */
export function onEvents(types: readonly string[], listener: Listener, signal: AbortSignal): void {
  listeners.set(listener, types);
  signal.addEventListener('abort', () => listeners.delete(listener), { once: true });
  if (!started) {
    started = true;
    void keepStreamOpen();
  }
}

/** For the header's indicator. */
export function onEventsState(listener: (state: EventsState) => void): void {
  stateListener = listener;
}

function parseEvent(value: unknown): DockerEvent | undefined {
  const event = obj(value);
  const actor = obj(event.Actor);
  const type = str(event.Type);
  if (!type) return undefined;
  return { type, action: str(event.Action), actorId: str(actor.ID), attributes: stringMap(actor.Attributes), time: num(event.time) };
}

function dispatch(event: DockerEvent | null): void {
  for (const [listener, types] of listeners) {
    if (event === null || types.includes(event.type)) listener(event);
  }
}

async function keepStreamOpen(): Promise<void> {
  let retryMs = FIRST_RETRY_MS;
  let connectedBefore = false;
  for (;;) {
    stateListener('connecting');
    try {
      const body = await eventStream(PAGE_LIFETIME);
      stateListener('live');
      // After a gap, what happened during it is unknown: every list refetches.
      if (connectedBefore) dispatch(null);
      connectedBefore = true;
      const decoder = new JsonLinesDecoder();
      await readChunks(body, PAGE_LIFETIME, (chunk) => {
        retryMs = FIRST_RETRY_MS;
        for (const value of decoder.push(chunk).values) {
          const event = parseEvent(value);
          if (event) dispatch(event);
        }
      });
    } catch (error) {
      // A 401 will not mend by retrying; the error bar already says so.
      if (error instanceof ApiError && error.status === 401) {
        stateListener('down');
        return;
      }
    }
    stateListener('down');
    await new Promise((resolve) => setTimeout(resolve, retryMs));
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  }
}
