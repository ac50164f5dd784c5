import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import type { BurstJob, BurstResult } from './burst.ts';
import type { ClientJob, ClientResult, GeneratorMessage } from './generator.ts';
import type { RoomCrowdJob, RoomCrowdResult } from './room-crowd.ts';

/** The load generator in its own process (its own core share and event loop), driven job by job. */
export class ClientProcess {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(resolve(import.meta.dirname, 'generator.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(job: ClientJob, timeoutMs: number): Promise<ClientResult> {
    return this.ask<ClientResult>({ job }, timeoutMs);
  }

  /** An open-loop burst (load/lib/burst.ts). */
  burst(burst: BurstJob, timeoutMs: number): Promise<BurstResult> {
    return this.ask<BurstResult>({ burst }, timeoutMs);
  }

  /** A waiting-room crowd (load/lib/room-crowd.ts). */
  room(room: RoomCrowdJob, timeoutMs: number): Promise<RoomCrowdResult> {
    return this.ask<RoomCrowdResult>({ room }, timeoutMs);
  }

  private ask<T>(message: GeneratorMessage, timeoutMs: number): Promise<T> {
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`load generator did not finish in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.child.once('message', (answer: { result?: T; error?: string }) => {
        clearTimeout(timer);
        if (answer.result) done(answer.result);
        else fail(new Error(answer.error ?? 'load generator failed'));
      });
      this.child.send(message);
    });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}
