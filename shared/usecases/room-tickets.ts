import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { Draw, Ticket } from '../domain/waiting-room.ts';

/** Audience of signed tickets: they prove a buyer's draw in one sale's line, nothing else. */
export const TICKET_AUDIENCE = 'ticket';
export const TICKET_HEADER = 'queue-ticket';

/**
 * The buyer's ticket as a JWT (HS256, TOKEN_SIGNING_KEY): `sub` buyer, `sale`, `draw` (the
 * lottery draw `u` or the counter number `n` and `shard`), `iat` the join, `exp` the sale's end.
 * Its payload is readable by the buyer, so with the room's public document they compute their own
 * place; its signature lets the exchange for an admission token skip reading the ticket.
 */
export function signTicket(key: string, ticket: Ticket, saleEndsAt: string): Promise<string> {
  return new SignJWT({ sale: ticket.saleId, draw: ticket.draw })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(ticket.userId)
    .setAudience(TICKET_AUDIENCE)
    .setIssuedAt(Math.floor(ticket.joinedAt / 1000))
    .setExpirationTime(Math.floor(Date.parse(saleEndsAt) / 1000))
    .sign(new TextEncoder().encode(key));
}

/** The ticket a signed ticket proves for this buyer and sale; undefined when it proves nothing. */
export async function readTicket(
  key: string,
  token: string,
  expected: { saleId: string; userId: string; now: number },
): Promise<Ticket | undefined> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(key), {
      audience: TICKET_AUDIENCE,
      subject: expected.userId,
      algorithms: ['HS256'],
      currentDate: new Date(expected.now),
    });
    const draw = drawOf(payload.draw);
    if (payload.sale !== expected.saleId || !draw || typeof payload.iat !== 'number') return undefined;
    return { saleId: expected.saleId, userId: expected.userId, joinedAt: payload.iat * 1000, draw };
  } catch {
    return undefined;
  }
}

/** The draw in a signed ticket, read without verifying (what a client does with its own ticket). */
export function drawOfTicket(token: string): Draw | undefined {
  try {
    return drawOf(decodeJwt(token).draw);
  } catch {
    return undefined;
  }
}

function drawOf(value: unknown): Draw | undefined {
  const d = value as Record<string, unknown> | undefined;
  if (d?.kind === 'lottery' && typeof d.u === 'number') return { kind: 'lottery', u: d.u };
  if (d?.kind === 'counter' && Number.isInteger(d.n) && Number.isInteger(d.shard))
    return { kind: 'counter', n: d.n as number, shard: d.shard as number };
  return undefined;
}
