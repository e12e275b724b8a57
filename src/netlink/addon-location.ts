// Where the SIOCETHTOOL addon (native/ethtool.c) is: `make build` compiles it to
// dist/native/ethtool.node, two folders up from this file's compiled form. scripts/build-bundle.js
// replaces this module in the one-file bundle with one that answers the bundle's own folder
// (/usr/lib/ovn-driver/ethtool.node once installed, beside netlink.node).

import * as path from 'node:path';

export function ethtoolAddonPath(): string {
  return path.join(__dirname, '..', '..', 'native', 'ethtool.node');
}
