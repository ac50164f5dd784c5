import { readFileSync } from 'node:fs';

/** A buyer of a tokens file: `userId,token` or just `token` (a deployed stack's Cognito ID token). */
export interface TokenRow {
  userId?: string;
  token: string;
}

/** The rows of a tokens file, one buyer a line; blank lines, `#` comments and a header are skipped. */
export function readTokenRows(file: string): TokenRow[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && line !== 'userId,token')
    .map((line) => {
      const comma = line.indexOf(',');
      return comma < 0 ? { token: line } : { userId: line.slice(0, comma), token: line.slice(comma + 1) };
    });
}
