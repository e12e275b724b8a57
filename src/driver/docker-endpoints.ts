// What reconciliation needs of Docker: an interface, so the driver knows nothing of sockets.
// main.ts wires Docker's Engine API client (src/docker/client.ts) in; tests may pass their own.

export interface DockerEndpoints {
  /** Every endpoint id Docker has on any network; rejects when Docker cannot be asked. */
  endpointIds(): Promise<ReadonlySet<string>>;
}
