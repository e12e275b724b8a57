// Docker's network and endpoint ids: 64 lowercase hexadecimal digits. A leaf with no imports:
// the driver checks request fields against it, the Docker API client checks Docker's answers.

export const DOCKER_ID_RE = /^[0-9a-f]{64}$/;

export function isDockerId(v: unknown): v is string {
  return typeof v === 'string' && DOCKER_ID_RE.test(v);
}
