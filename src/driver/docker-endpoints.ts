// What reconciliation needs of Docker: an interface, so the driver knows nothing of sockets.
// main.ts wires Docker's Engine API client (src/docker/client.ts) in; tests may pass their own.

export interface DockerEndpoints {
  /** Every endpoint id Docker has on any network; rejects when Docker cannot be asked. */
  endpointIds(): Promise<ReadonlySet<string>>;
}

/** What routing the previous release's networks needs of Docker (upgrade.ts). */
export interface DockerNetworks {
  /** The network, or undefined when Docker has no network of that id; rejects when Docker cannot be asked. */
  inspectNetwork(id: string): Promise<{ readonly internal: boolean } | undefined>;
}
