// The `fs` module (SPEC §15): files and directories by path — read, write and append
// whole files, open a file as a handle for `io`, stat, list, make, remove and rename
// entries, a private temporary directory, the current directory.
//
// Every function is `blocks`: the interpreter runs it whole on the blocking pool while
// its task is parked (runtime/outside.hpp), so a slow disk never holds up other tasks, and
// the code here is plain blocking POSIX. A failed call raises IOError naming the
// operation, the path and the system's reason (`fs.read("nope.txt"): No such file or
// directory`); a bad argument raises TypeError or ValueError. Every descriptor is opened
// O_CLOEXEC, so a command started by `proc` at the same moment never inherits it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "runtime/io_handle.hpp"
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::NativeEntry;

// args[i] as a path: a string without NUL bytes (the system cannot take one).
std::string path_arg(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param) {
  std::string_view p = arg_string(t, args, i, fn, param)->view();
  if (p.find('\0') != std::string_view::npos)
    t.raise("ValueError", std::string(fn) + "(): " + std::string(param) + " must not contain a NUL byte");
  return std::string(p);
}

// `fs.read("nope.txt")`, the start of every error message of a one-path call.
std::string what(std::string_view fn, const std::string& path) { return std::string(fn) + "(" + rt::quoted(path) + ")"; }

// Closes a descriptor when the call ends, error or not.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes all of `data` to `fd`; 0 or the errno of the failure.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(size_t(n));
  }
  return 0;
}

Value write_file(TaskState& t, Value* a, const char* fn, int flags) {
  std::string path = path_arg(t, a, 0, fn, "path");
  std::string_view data = arg_string(t, a, 1, fn, "s")->view();
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0666)};
  if (f.fd < 0) rt::raise_io(t, what(fn, path), errno);
  if (int err = write_all(f.fd, data)) rt::raise_io(t, what(fn, path), err);
  int fd = std::exchange(f.fd, -1);
  if (::close(fd) != 0 && errno != EINTR) rt::raise_io(t, what(fn, path), errno);  // a full NFS disk says it here
  return Value::nil();
}

Value f_read(TaskState& t, Value* a, int) {
  std::string path = path_arg(t, a, 0, "fs.read", "path");
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) rt::raise_io(t, what("fs.read", path), errno);
  std::string out;
  struct stat st{};
  if (::fstat(f.fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    check_string_size(t, size_t(st.st_size), "fs.read");
    out.reserve(size_t(st.st_size));
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      rt::raise_io(t, what("fs.read", path), errno);
    }
    if (n == 0) break;
    check_string_size(t, out.size() + size_t(n), "fs.read");
    out.append(buf, size_t(n));
  }
  return string_value(t, out);
}

Value f_write(TaskState& t, Value* a, int) { return write_file(t, a, "fs.write", O_TRUNC); }
Value f_append(TaskState& t, Value* a, int) { return write_file(t, a, "fs.append", O_APPEND); }

Value f_open(TaskState& t, Value* a, int nargs) {
  std::string path = path_arg(t, a, 0, "fs.open", "path");
  std::string_view mode = "r";
  if (nargs > 1) mode = arg_string(t, a, 1, "fs.open", "mode")->view();
  int flags;
  if (mode == "r") flags = O_RDONLY;
  else if (mode == "w") flags = O_WRONLY | O_CREAT | O_TRUNC;
  else if (mode == "a") flags = O_WRONLY | O_CREAT | O_APPEND;
  else if (mode == "r+") flags = O_RDWR;
  else
    t.raise("ValueError", "fs.open(): mode must be \"r\", \"w\", \"a\" or \"r+\", not " + rt::quoted(mode));
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0666);
  if (fd < 0) rt::raise_io(t, what("fs.open", path), errno);
  // A regular file is read and written on the blocking pool; a FIFO or a device opened
  // by path is too (it is not made non-blocking, so its reader may wait in read()).
  return rt::new_handle(t, rt::IoHandle::File, fd, path, false);
}

Value f_exists(TaskState& t, Value* a, int) {
  std::string path = path_arg(t, a, 0, "fs.exists", "path");
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) return Value::boolean(true);
  if (errno == ENOENT || errno == ENOTDIR) return Value::boolean(false);
  // Not knowing (no permission to look, a symlink loop) is not "absent".
  rt::raise_io(t, what("fs.exists", path), errno);
}

Value f_stat(TaskState& t, Value* a, int) {
  std::string path = path_arg(t, a, 0, "fs.stat", "path");
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) rt::raise_io(t, what("fs.stat", path), errno);
  vm::Map* m = t.heap.map();
  auto set = [&](const char* key, Value v) { vm::map_set(m, string_value(t, key), v); };
  set("size", Value::integer(int64_t(st.st_size)));
  set("mtime", Value::number(double(st.st_mtim.tv_sec) + double(st.st_mtim.tv_nsec) / 1e9));
  set("is_dir", Value::boolean(S_ISDIR(st.st_mode)));
  set("is_file", Value::boolean(S_ISREG(st.st_mode)));
  set("mode", Value::integer(int64_t(st.st_mode & 07777)));
  return Value::object(m);
}

Value f_list(TaskState& t, Value* a, int) {
  std::string path = path_arg(t, a, 0, "fs.list", "dir");
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) rt::raise_io(t, what("fs.list", path), errno);
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    int err = errno;
    ::close(fd);
    rt::raise_io(t, what("fs.list", path), err);
  }
  std::vector<std::string> names;
  int err = 0;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir);
    if (!e) {
      err = errno;
      break;
    }
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  if (err) rt::raise_io(t, what("fs.list", path), err);
  std::sort(names.begin(), names.end());  // by bytes, as Python's sorted(os.listdir())
  check_list_size(t, names.size(), "fs.list");
  vm::List* out = t.heap.list();
  out->items.reserve(names.size());
  for (const std::string& n : names) out->items.push_back(string_value(t, n));
  return Value::object(out);
}

Value f_mkdir(TaskState& t, Value* a, int nargs) {
  std::string path = path_arg(t, a, 0, "fs.mkdir", "path");
  bool parents = false;
  if (nargs > 1) {
    if (!a[1].is(Tag::Bool)) type_error(t, "fs.mkdir", "parents", "a bool", a[1]);
    parents = a[1].i != 0;
  }
  if (!parents) {
    if (::mkdir(path.c_str(), 0777) != 0) rt::raise_io(t, what("fs.mkdir", path), errno);
    return Value::nil();
  }
  // As `mkdir -p`: each missing component in turn; an existing directory is fine.
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string prefix = path.substr(0, slash);
    pos = slash + 1;
    if (prefix.empty() || prefix.back() == '/') continue;  // the root, or "a//b"
    if (::mkdir(prefix.c_str(), 0777) == 0) continue;
    int err = errno;
    struct stat st{};
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    rt::raise_io(t, what("fs.mkdir", path), err == EEXIST ? ENOTDIR : err);
  }
  return Value::nil();
}

Value f_remove(TaskState& t, Value* a, int) {
  std::string path = path_arg(t, a, 0, "fs.remove", "path");
  if (::unlink(path.c_str()) == 0) return Value::nil();
  int err = errno;
  // Linux says EISDIR (POSIX: EPERM) for a directory: remove it if it is empty.
  if (err == EISDIR || err == EPERM) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      if (::rmdir(path.c_str()) == 0) return Value::nil();
      err = errno;
    }
  }
  rt::raise_io(t, what("fs.remove", path), err);
}

Value f_rename(TaskState& t, Value* a, int) {
  std::string from = path_arg(t, a, 0, "fs.rename", "from");
  std::string to = path_arg(t, a, 1, "fs.rename", "to");
  if (::rename(from.c_str(), to.c_str()) != 0)
    rt::raise_io(t, "fs.rename(" + rt::quoted(from) + ", " + rt::quoted(to) + ")", errno);
  return Value::nil();
}

Value f_temp_dir(TaskState& t, Value*, int) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = (base && *base) ? base : "/tmp";
  if (tmpl.size() > 1 && tmpl.back() == '/') tmpl.pop_back();
  tmpl += "/tsk-XXXXXX";
  if (!::mkdtemp(tmpl.data())) rt::raise_io(t, "fs.temp_dir()", errno);  // made 0700: private
  return string_value(t, tmpl);
}

Value f_cwd(TaskState& t, Value*, int) {
  std::string buf(4096, '\0');
  while (!::getcwd(buf.data(), buf.size())) {
    if (errno != ERANGE || buf.size() > (1u << 20)) rt::raise_io(t, "fs.cwd()", errno);
    buf.resize(buf.size() * 2);
  }
  buf.resize(std::char_traits<char>::length(buf.c_str()));
  return string_value(t, buf);
}

constexpr Effect kBlocks = Effect::Blocks;

const NativeEntry kFs[] = {
    {"fs", "read", "read(path)", kBlocks, "The whole file at path as a string", f_read, 1, 1},
    {"fs", "write", "write(path, s)", kBlocks, "Writes s to the file at path, creating or truncating it", f_write, 2, 2},
    {"fs", "append", "append(path, s)", kBlocks, "Appends s to the file at path, creating it if needed", f_append, 2, 2},
    {"fs", "open", "open(path, mode = \"r\")", kBlocks,
     "A file handle for io: mode \"r\" reads, \"w\" creates or truncates, \"a\" appends, \"r+\" reads and writes",
     f_open, 1, 2},
    {"fs", "exists", "exists(path)", kBlocks,
     "Whether something exists at path (IOError when that cannot be known, e.g. no permission)", f_exists, 1, 1},
    {"fs", "stat", "stat(path)", kBlocks,
     "A map {size, mtime, is_dir, is_file, mode}: mtime in seconds since the epoch, mode the permission bits",
     f_stat, 1, 1},
    {"fs", "list", "list(dir)", kBlocks, "The names in directory dir, sorted, without \".\" and \"..\"", f_list, 1, 1},
    {"fs", "mkdir", "mkdir(path, parents = false)", kBlocks,
     "Makes directory path; with parents, also the missing directories above it, and an existing one is fine",
     f_mkdir, 1, 2},
    {"fs", "remove", "remove(path)", kBlocks, "Removes the file or empty directory at path", f_remove, 1, 1},
    {"fs", "rename", "rename(from, to)", kBlocks, "Renames (moves) from to to, replacing a file at to", f_rename, 2, 2},
    {"fs", "temp_dir", "temp_dir()", kBlocks,
     "Makes a new private directory under $TMPDIR (or /tmp) and returns its path", f_temp_dir, 0, 0},
    {"fs", "cwd", "cwd()", kBlocks, "The current directory", f_cwd, 0, 0},
};

}  // namespace

vm::ModuleDef fs_module() {
  return {"fs", "Files and directories by path (every function blocks: it runs where it cannot stall other tasks)",
          kFs, nullptr};
}

}  // namespace tsk::stdlib
