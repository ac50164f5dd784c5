import { type FunctionKey, type FunctionSpec, functionSpecs } from '../../shared/wiring.ts';

/**
 * Plays EventBridge's schedule: every scheduled function of the wiring table runs each
 * `intervalSeconds` (0 = never; tests call the runtime's runReconciler instead). Returns a stopper.
 */
export function startSchedule(
  intervalSeconds: number,
  invoke: (fn: FunctionKey, event: unknown) => Promise<unknown>,
): () => void {
  if (intervalSeconds <= 0) return () => {};
  const timers = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][])
    .filter(([, spec]) => spec.schedule)
    .map(([key]) => {
      const timer = setInterval(() => {
        invoke(key, { source: 'local.schedule', time: new Date().toISOString() }).catch((error: unknown) =>
          console.error(`${key} failed`, error),
        );
      }, intervalSeconds * 1000);
      timer.unref();
      return timer;
    });
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
