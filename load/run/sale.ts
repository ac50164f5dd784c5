/**
 * The drill's sale and buyers: a new sale created through the admin route (or an existing one
 * read), and one token per buyer, minted through the local runtime's `POST /dev/tokens` or read
 * from --tokens FILE for a deployed stack.
 */
import { writeFileSync } from 'node:fs';
import { createSale, mintDevToken, readSale } from '../lib/api-calls.ts';
import { type ApiClient, apiClient, typedApi } from '../lib/api-client.ts';
import { UsageError } from '../lib/args.ts';
import { readTokenRows } from '../lib/tokens-file.ts';
import { phaseOf, type Settings } from './settings.ts';

export interface DrillSale {
  saleId: string;
  units: number;
  limit: number;
}

/** Creates the drill's sale (its id from the run id), or reads the one --sale names. */
export async function drillSale(
  baseUrl: string,
  s: Settings,
  runId: string,
  local: boolean,
): Promise<DrillSale> {
  const api = typedApi(baseUrl);
  if (s.saleId) {
    const sale = await readSale(api, s.saleId).catch((error: Error) => {
      throw new UsageError(error.message);
    });
    console.log(
      `Drilling sale ${s.saleId}: ${sale.available} of ${sale.totalStock} units left, limit ${sale.perUserLimit}.`,
    );
    return { saleId: s.saleId, units: sale.totalStock, limit: sale.perUserLimit };
  }
  const adminToken =
    s.adminToken ?? (local ? await mintDevToken(apiClient(baseUrl), 'load-admin', true) : '');
  const sale = await createSale(api, adminToken, {
    saleId: `drill-${runId
      .replace(/^local-|^remote-/, '')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(-14)}`,
    totalStock: s.units,
    perUserLimit: s.limit,
    ...(s.shards ? { shards: s.shards } : {}),
  });
  console.log(`Created sale ${sale.saleId}: ${sale.totalStock} units, limit ${sale.perUserLimit} per buyer.`);
  return { saleId: sale.saleId, units: sale.totalStock, limit: sale.perUserLimit };
}

/**
 * The arrival phase and the buyers' tokens file: locally, `mintedFile` written with one minted
 * `userId,token` per buyer; for a deployed stack, --tokens FILE as it is (a token per buyer).
 */
export async function drillBuyers(
  baseUrl: string,
  s: Settings,
  saleId: string,
  mintedFile: string | undefined,
): Promise<{ phase: ReturnType<typeof phaseOf>; tokensFile: string }> {
  if (!mintedFile) {
    if (!s.tokensFile) throw new UsageError('--target needs --tokens FILE (one buyer token per line)');
    const tokenCount = readTokenRows(s.tokensFile).length;
    const phase = phaseOf(s, tokenCount);
    if (phase.buyers > tokenCount)
      throw new UsageError(`${phase.buyers} buyers but only ${tokenCount} tokens in ${s.tokensFile}`);
    return { phase, tokensFile: s.tokensFile };
  }
  const phase = phaseOf(s, undefined);
  const started = Date.now();
  const userIds = Array.from({ length: phase.buyers }, (_, i) => `${saleId}-buyer-${i}`);
  const tokens = await mintTokens(apiClient(baseUrl), userIds);
  writeFileSync(mintedFile, `${userIds.map((u, i) => `${u},${tokens[i]}`).join('\n')}\n`, { mode: 0o600 });
  console.log(`Minted ${tokens.length} buyer tokens through POST /dev/tokens in ${Date.now() - started} ms.`);
  return { phase, tokensFile: mintedFile };
}

/** Tokens for `userIds`, 16 mints in flight. */
async function mintTokens(api: ApiClient, userIds: string[]): Promise<string[]> {
  const tokens = new Array<string>(userIds.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < userIds.length; i = next++)
      tokens[i] = await mintDevToken(api, userIds[i] as string);
  };
  await Promise.all(Array.from({ length: Math.min(16, userIds.length) }, worker));
  return tokens;
}
