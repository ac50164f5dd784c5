/**
 * Credentials for a client pointed at an emulator endpoint. When the environment holds AWS
 * credentials (AWS_ACCESS_KEY_ID, as in Lambda, LocalStack's Lambda containers or a shell with
 * temporary keys), the SDK's own provider chain reads them, session token included: `undefined`
 * here means exactly that. Otherwise emulators accept anything, so fixed dummies spare a fresh
 * machine an AWS profile (and a shell whose AWS_PROFILE needs an SSO login is never asked for one).
 */
export function emulatorCredentials(
  env: NodeJS.ProcessEnv = process.env,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  return env.AWS_ACCESS_KEY_ID ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' };
}
