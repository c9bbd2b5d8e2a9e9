import { EventEmitter } from 'node:events';
import { it } from 'vitest';

it('adds an 11th error listener to one emitter', () => {
  const emitter = new EventEmitter();
  for (let i = 0; i < 11; i++) emitter.on('error', () => undefined);
});

it('leaves a rejection unhandled', async () => {
  void Promise.reject(new Error('nobody awaits this'));
  await new Promise((resolve) => setImmediate(resolve));
});

it('adds ten listeners, within the limit', () => {
  const emitter = new EventEmitter();
  for (let i = 0; i < 10; i++) emitter.on('error', () => undefined);
});
