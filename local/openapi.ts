import { writeFileSync } from 'node:fs';
import { OPENAPI_FILES, openApiFiles } from './openapi-files.ts';

/** `npm run openapi`: regenerates the OpenAPI document and the typed client's types from the code. */
const files = await openApiFiles();
for (const [name, path] of Object.entries(OPENAPI_FILES)) {
  writeFileSync(path, files[name as keyof typeof OPENAPI_FILES]);
  console.log(`wrote ${path}`);
}
