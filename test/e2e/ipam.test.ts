// `--ipam-driver ovn` end to end through Docker 20.10: the driver's own IPAM hands out the
// addresses, recorded in the Northbound. --ip, --ip-range and --aux-address are honoured, one
// subnet in two VRFs on one host makes two networks, and an address is freed with its container.
// The driver runs on its own socket (`ovnipam-<hex>`), as network and IPAM driver at once.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { DockerScope } from '../helpers/docker';
import { randomSuffix } from '../helpers/run';
import { ipamAllocations as allocations, startDriver } from '../helpers/stack';

const DRIVER = `ovnipam-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
// Unique to this run, so parallel runs and other engineers' tests never share a pool.
const VRF_BLUE = `blue-${randomSuffix()}`;
const VRF_RED = `red-${randomSuffix()}`;

test('--ipam-driver ovn: addresses from the Northbound, --ip, --ip-range, --aux-address, one subnet in two VRFs, freed with the container', { timeout: 300_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const driver = await startDriver({ socketPath: SOCKET });
    cleanup.add('stop the driver', async () => {
      await driver.stop();
      await fs.writeFile(DRIVER_LOG, driver.output());
    });
    const scope = new DockerScope();
    cleanup.add('remove docker objects', () => scope.cleanup());
    const subnet = '198.18.212.0/24';
    const blue = await scope.createNetwork('blue', {
      driver: DRIVER, ipamDriver: DRIVER, subnets: [subnet], ipRanges: ['198.18.212.128/29'], auxAddresses: { router: '198.18.212.129' },
      options: { vrf: VRF_BLUE }, ipamOptions: { vrf: VRF_BLUE },
    });
    // Docker's own IPAM would refuse this overlap; in another VRF it is another pool.
    const red = await scope.createNetwork('red', { driver: DRIVER, ipamDriver: DRIVER, subnets: [subnet], options: { vrf: VRF_RED }, ipamOptions: { vrf: VRF_RED } });
    assert.deepEqual(Object.fromEntries(await allocations(VRF_BLUE)), { '198.18.212.1': 'gateway', '198.18.212.129': 'aux' });

    // --ip-range: from .128/29, never the aux address; --ip: outside the range is fine.
    const c1 = await scope.runContainer('c1', { network: blue.name });
    const c2 = await scope.runContainer('c2', { network: blue.name, ip: '198.18.212.20' });
    const a1 = await scope.attachment(c1.name, blue.name);
    const a2 = await scope.attachment(c2.name, blue.name);
    assert.equal(a1.ipv4, '198.18.212.128', 'the first address of the range');
    assert.equal(a2.ipv4, '198.18.212.20');
    const r1 = await scope.runContainer('r1', { network: red.name, ip: '198.18.212.20' });
    const ar1 = await scope.attachment(r1.name, red.name);
    assert.equal(ar1.ipv4, '198.18.212.20', 'the same address in the other VRF');
    assert.equal((await scope.ping(c1.name, a2.ipv4)).code, 0, 'c1 reaches c2');
    const rows = await allocations(VRF_BLUE);
    assert.equal(rows.get('198.18.212.128'), 'endpoint');
    assert.equal(rows.get('198.18.212.20'), 'endpoint');

    // An address in use: a clear refusal, nothing else started.
    const dup = await scope.tryRunContainer('dup', { network: blue.name, ip: '198.18.212.20' });
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /198\.18\.212\.20 .*in use by a container/);

    // Freed with the container, and handed out again.
    await scope.removeContainer(c1.name);
    assert.equal((await allocations(VRF_BLUE)).has('198.18.212.128'), false, 'released with its container');
    const c3 = await scope.runContainer('c3', { network: blue.name });
    assert.match((await scope.attachment(c3.name, blue.name)).ipv4, /^198\.18\.212\.(128|13[0-4])$/);

    for (const c of [c2.name, c3.name, r1.name]) await scope.removeContainer(c);
    await scope.removeNetwork(blue.name);
    await scope.removeNetwork(red.name);
    assert.deepEqual([...(await allocations(VRF_BLUE)).keys()], [], 'nothing of blue left in the Northbound');
    assert.deepEqual([...(await allocations(VRF_RED)).keys()], [], 'nothing of red left in the Northbound');
  });
});
