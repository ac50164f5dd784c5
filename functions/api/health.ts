import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';

export const handler = route({ auth: 'public', tracing: traced() }, async () => json(200, { status: 'ok' }));
