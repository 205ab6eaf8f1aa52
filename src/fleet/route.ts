/** `GET /fleet`: every instance registered on this daemon's Redis and prefix, as JSON (see view.ts). */
import type { Route } from '../observe/http.js';
import { sendJson, sendText } from '../observe/http.js';
import type { FleetMember } from './member.js';

export function fleetRoute(member: Pick<FleetMember, 'view'>): Route {
  return async (_req, res) => {
    try {
      sendJson(res, 200, await member.view());
    } catch (err) {
      sendText(res, 503, `fleet registry unreachable: ${(err as Error).message}\n`);
    }
  };
}
