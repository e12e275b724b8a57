/*
 * ethtool.node: TX checksum offload through the SIOCETHTOOL ioctl, for kernels without the ethtool
 * generic netlink family (Linux before 5.6, such as el7's 3.10). C and N-API only, so one binary
 * loads in every Node.js from 16.20 on (N-API is ABI-stable) and needs nothing from libc newer
 * than glibc 2.17. src/netlink/ethtool-ioctl.ts is its only user.
 *
 *   txChecksumOff(name) -> Promise<void>     ETHTOOL_STXCSUM 0  (`ethtool -K NAME tx off`)
 *   txChecksum(name)    -> Promise<boolean>  ETHTOOL_GTXCSUM    (`ethtool -k NAME`, "tx-checksumming")
 *
 * ETHTOOL_STXCSUM, not ETHTOOL_SFEATURES: since 2.6.39 the kernel maps the legacy command onto
 * the features framework itself, to every tx-checksum-* bit the kernel has (3.10: NETIF_F_ALL_CSUM
 * and SCTP; 5.x and later: NETIF_F_CSUM_MASK, FCOE_CRC and SCTP_CRC), limited to what the device
 * can change (hw_features), and drops what depends on them (TSO) as ethtool -K does. SFEATURES
 * needs the bit numbers first (ETHTOOL_GSSET_INFO and ETHTOOL_GSTRINGS of ETH_SS_FEATURES),
 * three ioctls and a name table where one does. A device whose checksumming is fixed on answers
 * EOPNOTSUPP; one that keeps part of it on is caught by the caller's read back.
 *
 * The ioctl runs on a libuv worker (napi_async_work), never on the JS thread: it takes the
 * kernel's rtnl lock, which link creation elsewhere may hold. It acts on the network namespace
 * of the socket it goes through, which is the process's own: this addon never changes namespace.
 * A failure rejects with an Error whose `errno` is the positive errno number and `syscall`
 * 'ioctl' or 'socket'; the gateway names the errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

enum op { OP_TX_CSUM_OFF, OP_GET_TX_CSUM };

struct work {
  napi_async_work work;
  napi_deferred deferred;
  enum op op;
  char name[IFNAMSIZ];
  /* Results, written by the worker. */
  int err;
  const char *syscall;
  const char *what;
  unsigned int value;
};

/* Any socket reaches dev_ioctl(); ethtool(8) uses AF_INET, and AF_UNIX where IPv4 is absent. */
static int ioctl_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT) fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return fd;
}

static void execute(napi_env env, void *data) {
  struct work *w = data;
  struct ethtool_value value;
  struct ifreq ifr;
  int fd;
  (void)env;
  fd = ioctl_socket();
  if (fd < 0) {
    w->err = errno;
    w->syscall = "socket";
    w->what = "socket(AF_INET, SOCK_DGRAM)";
    return;
  }
  memset(&value, 0, sizeof(value));
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, w->name, sizeof(ifr.ifr_name));
  ifr.ifr_data = (void *)&value;
  if (w->op == OP_TX_CSUM_OFF) {
    value.cmd = ETHTOOL_STXCSUM;
    value.data = 0;
    w->what = "ioctl(SIOCETHTOOL, ETHTOOL_STXCSUM)";
  } else {
    value.cmd = ETHTOOL_GTXCSUM;
    w->what = "ioctl(SIOCETHTOOL, ETHTOOL_GTXCSUM)";
  }
  w->syscall = "ioctl";
  if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) w->err = errno;
  else w->value = value.data;
  close(fd);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct work *w = data;
  napi_value result = NULL;
  int rejected = 0;
  if (status != napi_ok) {
    w->err = ECANCELED;
    w->syscall = "napi";
    w->what = "async work";
  }
  if (w->err != 0) {
    char text[160];
    napi_value message, error, number, syscall;
    snprintf(text, sizeof(text), "%s on \"%s\": %s", w->what, w->name, strerror(w->err));
    if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) == napi_ok &&
        napi_create_error(env, NULL, message, &error) == napi_ok &&
        napi_create_int32(env, w->err, &number) == napi_ok &&
        napi_set_named_property(env, error, "errno", number) == napi_ok &&
        napi_create_string_utf8(env, w->syscall, NAPI_AUTO_LENGTH, &syscall) == napi_ok &&
        napi_set_named_property(env, error, "syscall", syscall) == napi_ok) {
      result = error;
      rejected = 1;
    }
  } else if (w->op == OP_GET_TX_CSUM) {
    napi_get_boolean(env, w->value != 0, &result);
  } else {
    napi_get_undefined(env, &result);
  }
  if (result == NULL) {
    /* Out of memory building the answer: reject with whatever N-API can still make. */
    napi_get_undefined(env, &result);
    rejected = 1;
  }
  if (rejected) napi_reject_deferred(env, w->deferred, result);
  else napi_resolve_deferred(env, w->deferred, result);
  napi_delete_async_work(env, w->work);
  free(w);
}

/* Throws a TypeError with a stable code; returns NULL for the caller to return. */
static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
  return NULL;
}

static napi_value start(napi_env env, napi_callback_info info, enum op op) {
  size_t argc = 1, length = 0;
  napi_value argv[1], promise, resource;
  napi_valuetype type;
  struct work *w;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    return throw_type(env, "the interface name must be a string");
  }
  w = calloc(1, sizeof(*w));
  if (w == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  w->op = op;
  /* The length in UTF-8 bytes first (a NULL buffer asks for it), then the copy. */
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok ||
      length == 0 || length >= IFNAMSIZ ||
      napi_get_value_string_utf8(env, argv[0], w->name, sizeof(w->name), &length) != napi_ok ||
      strlen(w->name) != length) {
    free(w);
    return throw_type(env, "the interface name must be 1 to 15 bytes without NUL");
  }
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "ovn-driver:ethtool", NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_async_work(env, NULL, resource, execute, complete, w, &w->work) != napi_ok) {
    free(w);
    napi_throw_error(env, NULL, "failed to start the ethtool request");
    return NULL;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    napi_throw_error(env, NULL, "failed to queue the ethtool request");
    return NULL;
  }
  return promise;
}

static napi_value tx_checksum_off(napi_env env, napi_callback_info info) {
  return start(env, info, OP_TX_CSUM_OFF);
}

static napi_value tx_checksum(napi_env env, napi_callback_info info) {
  return start(env, info, OP_GET_TX_CSUM);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "txChecksumOff", NULL, tx_checksum_off, NULL, NULL, NULL, napi_enumerable, NULL },
    { "txChecksum", NULL, tx_checksum, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
