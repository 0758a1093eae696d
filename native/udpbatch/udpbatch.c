/*
 * N-API addon: sends many UDP datagrams in one system call (sendmmsg), for the DNS server.
 * Node's dgram makes one sendto per reply; under load that syscall is most of a query's cost,
 * and a batch of the replies made in one event-loop turn costs little more than one.
 *
 * Exports (see binding.ts; the JS twin sends each datagram with dgram instead):
 *   openUdp(address: string, port: number) -> fd
 *     a bound, non-blocking UDP socket, which Node's dgram then wraps (bind({ fd })): so the
 *     descriptor is ours to write to without reaching into dgram's internals. Errors carry the
 *     errno name as `code` (EADDRINUSE, EACCES, EADDRNOTAVAIL...), as Node's own do.
 *   sendBatch(fd: number, datagrams: Uint8Array[], ports: number[], addresses: string[]) -> number
 *     sends datagram i to addresses[i]:ports[i] (IP literals; an IPv4 address on an IPv6
 *     socket goes v4-mapped) and returns how many went out: it stops at the first that cannot
 *     be sent now (EAGAIN, a bad address), which the caller then sends the ordinary way.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

/* Datagrams per sendmmsg call; a larger batch is sent in several calls. */
#define BATCH 64

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/* Fills `address` from a literal; false when it is not one. */
static bool socket_address(const char *text, uint32_t port, sa_family_t family, struct sockaddr_storage *address, socklen_t *length) {
  memset(address, 0, sizeof *address);
  if (family == AF_INET) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)address;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *length = sizeof *v4;
    return inet_pton(AF_INET, text, &v4->sin_addr) == 1;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((uint16_t)port);
  *length = sizeof *v6;
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) return true;
  struct in_addr v4;
  if (inet_pton(AF_INET, text, &v4) != 1) return false;
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&v6->sin6_addr.s6_addr[12], &v4, 4);
  return true;
}

static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_type(env, "fd must be a descriptor number");
  bool arrays[3] = {false, false, false};
  for (int i = 0; i < 3; i++) napi_is_array(env, argv[i + 1], &arrays[i]);
  if (!arrays[0] || !arrays[1] || !arrays[2]) return throw_type(env, "datagrams, ports and addresses must be arrays");
  uint32_t count, ports_count, addresses_count;
  napi_get_array_length(env, argv[1], &count);
  napi_get_array_length(env, argv[2], &ports_count);
  napi_get_array_length(env, argv[3], &addresses_count);
  if (ports_count != count || addresses_count != count) return throw_type(env, "datagrams, ports and addresses must have one entry each");

  struct sockaddr_storage own;
  socklen_t own_length = sizeof own;
  if (getsockname(fd, (struct sockaddr *)&own, &own_length) != 0) return throw_type(env, "fd is not a socket");

  struct mmsghdr messages[BATCH];
  struct iovec vectors[BATCH];
  struct sockaddr_storage addresses[BATCH];
  uint32_t sent = 0;
  while (sent < count) {
    uint32_t filled = 0;
    for (; filled < BATCH && sent + filled < count; filled++) {
      uint32_t index = sent + filled;
      napi_value datagram, port_value, address_value;
      napi_get_element(env, argv[1], index, &datagram);
      napi_get_element(env, argv[2], index, &port_value);
      napi_get_element(env, argv[3], index, &address_value);
      napi_typedarray_type type;
      size_t length;
      void *data;
      bool is_typed = false;
      napi_is_typedarray(env, datagram, &is_typed);
      if (!is_typed || napi_get_typedarray_info(env, datagram, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
        return throw_type(env, "each datagram must be a Uint8Array");
      }
      uint32_t port;
      char text[INET6_ADDRSTRLEN + 1];
      size_t text_length = 0;
      if (napi_get_value_uint32(env, port_value, &port) != napi_ok || port > 65535 ||
          napi_get_value_string_utf8(env, address_value, text, sizeof text, &text_length) != napi_ok) {
        return throw_type(env, "each port must be a number and each address a string");
      }
      socklen_t address_length;
      if (!socket_address(text, port, own.ss_family, &addresses[filled], &address_length)) break;
      vectors[filled] = (struct iovec){.iov_base = data, .iov_len = length};
      messages[filled] = (struct mmsghdr){.msg_hdr = {.msg_name = &addresses[filled], .msg_namelen = address_length, .msg_iov = &vectors[filled], .msg_iovlen = 1}};
    }
    if (filled == 0) break;
    int done;
    do {
      done = sendmmsg(fd, messages, filled, MSG_DONTWAIT);
    } while (done < 0 && errno == EINTR);
    if (done <= 0) break;
    sent += (uint32_t)done;
    if ((uint32_t)done < filled) break;
  }
  napi_value result;
  napi_create_uint32(env, sent, &result);
  return result;
}

static napi_value throw_errno(napi_env env, int error, const char *what) {
  const char *name = error == EADDRINUSE ? "EADDRINUSE" : error == EACCES ? "EACCES" : error == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : error == EAFNOSUPPORT ? "EAFNOSUPPORT" : "ESOCKET";
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, name, message);
  return NULL;
}

static napi_value open_udp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  char text[INET6_ADDRSTRLEN + 1];
  size_t text_length = 0;
  uint32_t port;
  if (napi_get_value_string_utf8(env, argv[0], text, sizeof text, &text_length) != napi_ok || napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535) {
    return throw_type(env, "openUdp takes an address literal and a port");
  }
  struct in6_addr probe;
  sa_family_t family = inet_pton(AF_INET6, text, &probe) == 1 ? AF_INET6 : AF_INET;
  struct sockaddr_storage address;
  socklen_t length;
  if (!socket_address(text, port, family, &address, &length)) return throw_type(env, "openUdp: not an IP address literal");
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (bind(fd, (struct sockaddr *)&address, length) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, error, "bind");
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "openUdp", NAPI_AUTO_LENGTH, open_udp, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "openUdp", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "sendBatch", NAPI_AUTO_LENGTH, send_batch, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendBatch", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
