/**
 * The waiting-room drill's crowd, run in the load generator's process: every buyer plays the page
 * (or the capped client) from its join to an outcome. In the runtime's own process, 10,000 buyers'
 * timers, requests and sockets shared the event loop and the descriptor limit with the server they
 * measured (EMFILE, handlers starved); a crowd of browsers brings its own machines.
 */
import {
  type BuyerRecord,
  newTally,
  playBuyer,
  RoomClient,
  type RoomPolling,
  type Tally,
} from './room-buyer.ts';
import { round } from './stats.ts';

export interface RoomCrowdJob {
  url: string;
  saleId: string;
  buyers: BuyerRecord[];
  plans: { token: string; joinAt: number; cheat: boolean }[];
  /** Epoch ms: the sale's start, for the progress lines. */
  startsAt: number;
  deadline: number;
  polling: RoomPolling;
  /** With `capped` polling: requests open at once across the crowd. */
  maxInFlight: number;
}

export interface RoomCrowdResult {
  buyers: BuyerRecord[];
  tally: Tally;
  /** When the last buyer reached an outcome (epoch ms). */
  doneAt: number;
}

export async function runRoomCrowd(job: RoomCrowdJob): Promise<RoomCrowdResult> {
  const client = new RoomClient(
    job.url,
    newTally(),
    job.polling === 'page' ? Number.POSITIVE_INFINITY : job.maxInFlight,
  );
  const progress = setInterval(() => {
    const done = job.buyers.filter((b) => b.outcome).length;
    console.log(
      `  ${round((Date.now() - job.startsAt) / 1000)} s from start: ${done}/${job.buyers.length} buyers done`,
    );
  }, 10_000);
  try {
    await Promise.all(
      job.buyers.map((buyer, i) => {
        const plan = job.plans[i] as RoomCrowdJob['plans'][number];
        return playBuyer(client, buyer, {
          saleId: job.saleId,
          ...plan,
          deadline: job.deadline,
          polling: job.polling,
        });
      }),
    );
  } finally {
    clearInterval(progress);
  }
  return { buyers: job.buyers, tally: client.tally, doneAt: Date.now() };
}
