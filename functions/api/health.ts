import { json, route } from '../../shared/http/route.ts';

export const handler = route({ auth: 'public' }, async () => json(200, { status: 'ok' }));
