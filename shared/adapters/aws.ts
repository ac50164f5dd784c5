/**
 * Emulators accept any credentials; use the environment's when set (LocalStack users may set
 * them), otherwise fixed dummies so a fresh machine needs no AWS profile.
 */
export function emulatorCredentials() {
  return {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  };
}
