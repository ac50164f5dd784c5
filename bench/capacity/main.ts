/**
 * `npm run capacity` — the capacity model on its own: prints the table and its assumptions and replaces
 * only the `capacity` section (and its summary line) of bench/results.json. `--no-write` only prints;
 * `--seed N` runs another seed (the written section records which). `--json` prints only the end-to-end
 * model, `{"endToEnd": [...]}`, and writes nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { numberOption, runMain } from '../../load/lib/args.ts';
import { type EndToEndScenario, endToEndModel, endToEndTargets, formatEndToEnd } from './end-to-end.ts';
import {
  type CapacityModel,
  capacityModel,
  capacitySection,
  capacitySummary,
  formatCapacity,
} from './model.ts';

const RESULTS = resolve(import.meta.dirname, '..', 'results.json');

/** Read-modify-write: every other section of results.json stays as it was. */
function writeSection(m: CapacityModel, endToEnd: EndToEndScenario[]): void {
  const results: Record<string, unknown> = existsSync(RESULTS)
    ? JSON.parse(readFileSync(RESULTS, 'utf8'))
    : {};
  results.capacity = { ...capacitySection(m), endToEnd, endToEndTargets: endToEndTargets(endToEnd) };
  const summary = Array.isArray(results.summary) ? (results.summary as string[]) : [];
  results.summary = [...summary.filter((line) => !line.startsWith('capacity')), capacitySummary(m)];
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'no-write': { type: 'boolean', default: false },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const seed = numberOption('seed', values.seed, undefined, undefined, {
    min: 0,
    max: 2 ** 31,
    integer: true,
  });
  const endToEnd = endToEndModel();
  if (values.json) {
    console.log(JSON.stringify({ endToEnd }, null, 2));
    return 0;
  }
  const model = capacityModel((s) => (seed === undefined ? s : { ...s, seed }));
  console.log(`== capacity: checkouts/s one sale could take on AWS (model) ==\n${formatCapacity(model)}`);
  console.log(formatEndToEnd(endToEnd));
  console.log(`\n${capacitySummary(model)}`);
  if (!values['no-write']) {
    writeSection(model, endToEnd);
    console.log(`Wrote the capacity section of ${RESULTS}`);
  }
  return 0;
}

runMain(main);
