/** For config tests: run `fn`, expect it to throw a ConfigError of exactly one line, and return that line. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/schema.js';

export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    return msg;
  }
  throw new Error('expected a ConfigError');
}
