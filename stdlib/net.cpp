// The `net` module (SPEC §15): TCP over IPv4 and IPv6. listen and resolve `block` (the
// interpreter runs them on the blocking pool: getaddrinfo and bind may wait); accept and
// connect `yield`: their sockets are non-blocking and wait through the reactor, with a
// timeout (TimeoutError) and cancellation (Cancelled, at once). A connection is a
// handle read and written with io, closed with io.close.
//
// Names: a host that is a numeric address is used as is; any other is resolved with
// getaddrinfo on the blocking pool (connect tries each address in turn, as Go's Dial
// does). Addresses print as "127.0.0.1:8080" and "[::1]:8080".
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/concurrency.hpp"
#include "runtime/io_handle.hpp"
#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"

namespace tsk::stdlib {

using rt::IoHandle;
using vm::Effect;
using vm::NativeEntry;

namespace {

std::string format_addr(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

std::string local_addr(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return format_addr(ss);
}

std::string peer_addr(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return format_addr(ss);
}

std::string host_arg(TaskState& t, const Value* args, int i, const char* fn) {
  std::string host(arg_string(t, args, i, fn, "host")->view());
  if (host.find('\0') != std::string::npos) t.raise("ValueError", std::string(fn) + "(): host contains a NUL byte");
  // "[::1]" as written in URLs is "::1".
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

int port_arg(TaskState& t, const Value* args, int i, const char* fn) {
  int64_t port = arg_int(t, args, i, fn, "port");
  if (port < 0 || port > 65535)
    t.raise("ValueError", std::string(fn) + "(): port must be in 0..65535, got " + std::to_string(port));
  return int(port);
}

std::string what_of(const char* fn, const std::string& host, int port) {
  return std::string(fn) + "(" + rt::quoted(host) + ", " + std::to_string(port) + ")";
}

// The addresses of host:port (a numeric host without a lookup); an error's text in
// `error` when there are none.
std::vector<sockaddr_storage> lookup(const std::string& host, int port, bool passive, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  std::vector<sockaddr_storage> out;
  if (rc != 0) {
    error = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
    return out;
  }
  for (addrinfo* a = res; a; a = a->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
    out.push_back(ss);
  }
  freeaddrinfo(res);
  if (out.empty()) error = "no address";
  return out;
}

bool numeric(const std::string& host, int port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(uint16_t(port));
    return true;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(uint16_t(port));
    return true;
  }
  return false;
}

socklen_t addr_len(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// {=== listen, accept

// blocks: runs on the blocking pool.
Value net_listen(TaskState& t, Value* args, int nargs) {
  std::string host = host_arg(t, args, 0, "net.listen");
  int port = port_arg(t, args, 1, "net.listen");
  int64_t backlog = nargs > 2 && !args[2].is_nil() ? arg_int(t, args, 2, "net.listen", "backlog") : 128;
  if (backlog < 1 || backlog > 65535)
    t.raise("ValueError", "net.listen(): backlog must be in 1..65535, got " + std::to_string(backlog));
  std::string what = what_of("net.listen", host, port);
  std::string error;
  std::vector<sockaddr_storage> addrs;
  sockaddr_storage one;
  if (numeric(host, port, one)) addrs.push_back(one);
  else addrs = lookup(host, port, true, error);
  if (addrs.empty()) t.raise("IOError", what + ": " + error);
  int last = 0;
  for (const sockaddr_storage& ss : addrs) {
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), addr_len(ss)) != 0 || listen(fd, int(backlog)) != 0) {
      last = errno;
      ::close(fd);
      continue;
    }
    return rt::new_handle(t, IoHandle::Listener, fd, local_addr(fd), true);
  }
  rt::raise_io(t, what, last);
}

Value net_accept(TaskState& t, Value* args, int nargs) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);
  IoHandle& h = *rt::handle_arg(t, args, 0, "net.accept");
  std::string what = "net.accept(" + h.describe() + ")";
  if (h.kind != IoHandle::Listener) t.raise("TypeError", "net.accept(): expects a listener, got " + h.describe());
  rt::FdWait w(t, resumed, nargs > 1 ? args[1] : Value::nil(), what);
  int fd;
  {
    IoHandle::Use use(t, h, what);
    fd = use.fd();
    for (;;) {
      int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c >= 0) {
        int on = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        return rt::new_handle(t, IoHandle::Tcp, c, peer_addr(c), true);
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      rt::raise_io(t, what, errno);
    }
    w.park(fd, rt::Reactor::Read);  // under `use`: a close meanwhile wakes us
  }
  return Value::nil();
}

// }===

// {=== connect

// A connect in progress, kept across the native's calls: the addresses (looked up on
// the pool), the one being tried and its socket (closed if the connect is abandoned).
struct ConnectOp : rt::OutsideOp {
  std::vector<sockaddr_storage> addrs;
  std::string lookup_error;
  bool resolved = false;
  size_t next = 0;
  int sock = -1;
  int last_error = ECONNREFUSED;
  // Set once the socket has waited in the reactor, which must forget it before its
  // number is reused; reached through the registry, which outlives the runtime.
  std::shared_ptr<rt::HandleRegistry> registry;
  ~ConnectOp() override { close_sock(); }
  void forget_sock() {
    if (!registry) return;
    std::lock_guard g(registry->lock);
    if (registry->runtime)
      if (rt::Reactor* r = registry->runtime->reactor_if_started()) r->close_fd(sock);
  }
  void close_sock() {
    if (sock < 0) return;
    forget_sock();
    ::close(sock);
    sock = -1;
  }
};

Value net_connect(TaskState& t, Value* args, int nargs) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);
  std::string host = host_arg(t, args, 0, "net.connect");
  int port = port_arg(t, args, 1, "net.connect");
  std::string what = what_of("net.connect", host, port);
  rt::FdWait w(t, resumed, nargs > 2 ? args[2] : Value::nil(), what, std::make_shared<ConnectOp>());
  auto op = std::static_pointer_cast<ConnectOp>(w.op());
  if (!op->resolved) {
    sockaddr_storage one;
    if (numeric(host, port, one)) {
      op->addrs.push_back(one);
      op->resolved = true;
    } else if (!resumed) {
      rt::run_on_pool(t, op, [op, host, port] {
        op->addrs = lookup(host, port, false, op->lookup_error);
        op->resolved = true;
      });
      if (t.suspended) return Value::nil();
      rt::take_resumed(t);
    }
    if (!op->resolved) t.raise("IOError", what + ": the name lookup did not finish");
  }
  if (op->addrs.empty()) t.raise("IOError", what + ": " + op->lookup_error);
  for (;;) {
    if (op->sock >= 0) {
      // Called again: the socket is writable, its connect has ended one way or another.
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(op->sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) {
        op->forget_sock();  // the handle registers it afresh
        int fd = std::exchange(op->sock, -1);
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        return rt::new_handle(t, IoHandle::Tcp, fd, peer_addr(fd), true);
      }
      op->last_error = err;
      op->close_sock();
    }
    if (op->next >= op->addrs.size()) rt::raise_io(t, what, op->last_error);
    const sockaddr_storage& ss = op->addrs[op->next++];
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      op->last_error = errno;
      continue;
    }
    int rc;
    do rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), addr_len(ss));
    while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return rt::new_handle(t, IoHandle::Tcp, fd, peer_addr(fd), true);
    }
    if (errno != EINPROGRESS) {
      op->last_error = errno;
      ::close(fd);
      continue;
    }
    op->sock = fd;
    op->registry = rt::runtime_of(t).handles;
    w.park(fd, rt::Reactor::Write);
    return Value::nil();
  }
}

// }===

// {=== addr, resolve

Value net_addr(TaskState& t, Value* args, int) {
  IoHandle& h = *rt::handle_arg(t, args, 0, "net.addr");
  if (h.kind != IoHandle::Listener && h.kind != IoHandle::Tcp)
    t.raise("TypeError", "net.addr(): expects a listener or a connection, got " + h.describe());
  return string_value(t, h.name);
}

// blocks: runs on the blocking pool.
Value net_resolve(TaskState& t, Value* args, int) {
  std::string host = host_arg(t, args, 0, "net.resolve");
  std::string error;
  std::vector<sockaddr_storage> addrs = lookup(host, 0, false, error);
  if (addrs.empty()) t.raise("IOError", "net.resolve(" + rt::quoted(host) + "): " + error);
  vm::List* out = t.heap.list();
  Value result = Value::object(out);
  vm::TaskState::Root keep(t, result);
  std::vector<std::string> seen;
  for (const sockaddr_storage& ss : addrs) {
    std::string a = format_addr(ss);
    a = a.substr(0, a.rfind(':'));
    if (a.size() > 2 && a.front() == '[') a = a.substr(1, a.size() - 2);
    if (std::find(seen.begin(), seen.end(), a) != seen.end()) continue;
    seen.push_back(a);
    out->items.push_back(string_value(t, a));
  }
  return result;
}

// }===

const NativeEntry kNet[] = {
    {"net", "listen", "listen(host, port, backlog = 128)", Effect::Blocks,
     "A listener on host:port (IPv4 or IPv6; port 0 picks a free one)", net_listen, 2, 3},
    {"net", "addr", "addr(h)", Effect::Instant,
     "The \"host:port\" of a listener (where it listens) or a connection (its peer)", net_addr, 1, 1},
    {"net", "accept", "accept(listener, timeout = nil)", Effect::Yields,
     "The next connection to the listener; TimeoutError after timeout seconds", net_accept, 1, 2},
    {"net", "connect", "connect(host, port, timeout = nil)", Effect::Yields,
     "A TCP connection to host:port (names are resolved); TimeoutError after timeout seconds", net_connect, 2, 3},
    {"net", "resolve", "resolve(host)", Effect::Blocks, "The list of addresses of host", net_resolve, 1, 1},
};

// Loading net raises the process's soft limit of open descriptors to its hard limit, as
// Go does at start-up: a server of a thousand connections needs more than the usual
// 1,024, and the hard limit is what the administrator allows.
void raise_descriptor_limit(vm::Heap&, const std::vector<std::string>&, void (*)(void*, const char*, Value), void*) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

vm::ModuleDef net_module() {
  return {"net", "TCP over IPv4 and IPv6: listeners and connections, read and written with io", kNet,
          raise_descriptor_limit};
}

}  // namespace tsk::stdlib
