/** Issue 27.5: which stop signal drains, which is the same request again, and which forces. */
import { describe, expect, it } from 'vitest';
import { StopSignals } from '../../src/cli/stop-signals.js';

describe('stop signals', () => {
  const at = (times: number[]) => {
    let i = 0;
    return new StopSignals(() => times[i++]!, 1000);
  };

  it('treats the same signal again within the window as the same request', () => {
    const s = at([0, 5, 999]);
    expect(s.receive('SIGTERM')).toBe('drain');
    expect(s.receive('SIGTERM')).toBe('repeat');
    expect(s.receive('SIGTERM')).toBe('repeat');
  });

  it('forces on the same signal after the window, once', () => {
    const s = at([0, 1000, 1200]);
    expect(s.receive('SIGINT')).toBe('drain');
    expect(s.receive('SIGINT')).toBe('force');
    expect(s.receive('SIGINT')).toBe('repeat');
  });

  it('forces at once on a different signal', () => {
    const s = at([0, 10]);
    expect(s.receive('SIGTERM')).toBe('drain');
    expect(s.receive('SIGINT')).toBe('force');
  });
});
