/** `GET /fleet`: every instance registered on this daemon's Redis and prefix, as JSON (see view.ts). */
import { json, text, type Handler } from '../observe/http.js';
import type { FleetMember } from './member.js';

export function fleetRoute(member: Pick<FleetMember, 'view'>): Handler {
  return async (ctx) => {
    try {
      return json(ctx, 200, await member.view());
    } catch (err) {
      return text(ctx, 503, `fleet registry unreachable: ${(err as Error).message}\n`);
    }
  };
}
