/**
 * Credentials for a client pointed at an emulator endpoint. When the environment holds real AWS
 * credentials (keys, a session token, a profile, a web identity) the SDK's own provider chain
 * reads them, session token included: `undefined` here means exactly that. Otherwise emulators
 * accept anything, so fixed dummies spare a fresh machine an AWS profile.
 */
export function emulatorCredentials(
  env: NodeJS.ProcessEnv = process.env,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const real =
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  return real ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' };
}
