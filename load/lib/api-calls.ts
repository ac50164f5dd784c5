/**
 * The calls every drill makes to set itself up, through the one API client (api-client.ts): open a
 * sale as an admin, read a sale, mint a token from the local runtime's dev issuer. Each throws with
 * the API's answer when it is not the expected success.
 */
import { type ApiClient, errorCode, type TypedApi } from './api-client.ts';
import type { components } from './openapi-types.ts';

export type Sale = components['schemas']['Sale'];
type CreateSale = components['schemas']['CreateSale'];

/** What a drill says about its sale; the rest (name, price, window open now for 6 h) is filled in. */
export type SaleInput = Partial<CreateSale> &
  Required<Pick<CreateSale, 'saleId' | 'totalStock' | 'perUserLimit'>>;

/** `POST /sales` with an admin token; throws with the API's answer on anything but 201. */
export async function createSale(api: TypedApi, adminToken: string, input: SaleInput): Promise<Sale> {
  const now = Date.now();
  const { data, error, response } = await api.POST('/sales', {
    headers: { authorization: `Bearer ${adminToken}` },
    body: {
      name: `Drill ${input.saleId}`,
      price: 4900,
      currency: 'EUR',
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 6 * 3600_000).toISOString(),
      ...input,
    },
  });
  if (response.status !== 201 || !data)
    throw new Error(`POST /sales answered ${response.status}: ${JSON.stringify(error)}`);
  return data;
}

/** `GET /sales/{saleId}`; throws with the status on anything but 200. */
export async function readSale(api: TypedApi, saleId: string): Promise<Sale> {
  const { data, error, response } = await api.GET('/sales/{saleId}', { params: { path: { saleId } } });
  if (response.status !== 200 || !data)
    throw new Error(`GET /sales/${saleId} answered ${response.status} ${errorCode(error) ?? ''}`.trim());
  return data;
}

/**
 * `POST /dev/tokens` (the local runtime only, so not in the document: spoken by concrete path).
 * Throws on anything but 200, saying that the target must be a local runtime.
 */
export async function mintDevToken(api: ApiClient, userId: string, admin = false): Promise<string> {
  const reply = await api('POST', '/dev/tokens', { body: { userId, ...(admin ? { admin } : {}) } });
  const token = (reply.body as { token?: unknown } | undefined)?.token;
  if (reply.status !== 200 || typeof token !== 'string')
    throw new Error(
      `POST /dev/tokens answered ${reply.status}: ${JSON.stringify(reply.body)} (is the target a local runtime?)`,
    );
  return token;
}
