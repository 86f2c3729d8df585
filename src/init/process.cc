#include "init/process.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/error.h"

namespace ctk::init {

namespace {

// Everything below up to spawn_container runs in the child, which reports a
// failure on the status pipe and exits; it never returns to the agent's loop.
[[noreturn]] void die(int status_fd, int code, const std::string& message) {
  std::string report = std::to_string(code) + " " + message;
  (void)!::write(status_fd, report.data(), report.size());
  ::_exit(code);
}

// Go's wording, which docker users see in these messages.
std::string errno_text(int e) {
  switch (e) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case ENOEXEC: return "exec format error";
    case ENOTDIR: return "not a directory";
    default: {
      std::string s = std::strerror(e);
      if (!s.empty()) s[0] = char(std::tolower(s[0]));
      return s;
    }
  }
}

bool mkdir_all(const std::string& path, mode_t mode) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// A bind mount needs a target of the same kind as its source.
bool make_target(const std::string& target, const MountSpec& m) {
  struct stat st;
  if (m.bind && ::stat(m.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    if (!mkdir_all(target.substr(0, target.rfind('/')), 0755)) return false;
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }
  return mkdir_all(target, 0755);
}

void mount_one(const std::string& root, const MountSpec& m, int status_fd) {
  std::string target = root + m.destination;
  if (!make_target(target, m)) die(status_fd, kExitSetupFailed, sys_error("mkdir " + target));
  if (m.bind) {
    if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr))
      die(status_fd, kExitSetupFailed, sys_error("bind mount " + m.source + " on " + target));
    // Bind mounts take their flags only on a remount.
    if (m.flags & ~MS_REC &&
        ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | (m.flags & ~MS_REC), nullptr))
      die(status_fd, kExitSetupFailed, sys_error("remount " + target));
  } else {
    // The agent manages cgroup v2 alone: a v1 "cgroup" mount (docker's
    // configs have one) gets the container's cgroup2 view, as runc gives it
    // on a cgroup2-only host.
    std::string type = m.type == "cgroup" ? "cgroup2" : m.type;
    if (::mount(m.source.c_str(), target.c_str(), type.c_str(), m.flags,
                m.data.empty() ? nullptr : m.data.c_str()))
      die(status_fd, kExitSetupFailed, sys_error("mount " + type + " on " + target));
  }
  if (m.propagation && ::mount(nullptr, target.c_str(), nullptr, m.propagation, nullptr))
    die(status_fd, kExitSetupFailed, sys_error("set propagation of " + target));
}

// The device nodes every container has (runc's default set) in a /dev the
// config mounts as tmpfs: made with mknod, or bound from the agent's /dev
// where mknod is not allowed.
void make_dev(const std::string& dev, int status_fd) {
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  static constexpr Node kNodes[] = {{"null", 1, 3},    {"zero", 1, 5}, {"full", 1, 7},
                                    {"random", 1, 8},  {"urandom", 1, 9}, {"tty", 5, 0}};
  for (const Node& n : kNodes) {
    std::string path = dev + "/" + n.name;
    if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(n.major, n.minor)) == 0) {
      ::chmod(path.c_str(), 0666);  // the umask applied to mknod
      continue;
    }
    if (errno == EEXIST) continue;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0) ::close(fd);
    std::string host = std::string("/dev/") + n.name;
    if (::mount(host.c_str(), path.c_str(), nullptr, MS_BIND, nullptr))
      die(status_fd, kExitSetupFailed, sys_error("create " + path));
  }
  static constexpr const char* kLinks[][2] = {{"/proc/self/fd", "fd"},   {"/proc/self/fd/0", "stdin"},
                                              {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                              {"pts/ptmx", "ptmx"}};
  for (const auto& l : kLinks) (void)!::symlink(l[0], (dev + "/" + l[1]).c_str());
  ::mkdir((dev + "/pts").c_str(), 0755);
  ::mkdir((dev + "/shm").c_str(), 01777);
}

// linux.readonlyPaths: a path the image lacks needs no protection.
void readonly_path(const std::string& path, int status_fd) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr)) {
    if (errno == ENOENT) return;
    die(status_fd, kExitSetupFailed, sys_error("bind mount " + path));
  }
  if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, nullptr))
    die(status_fd, kExitSetupFailed, sys_error("remount " + path + " read-only"));
}

// linux.maskedPaths: a directory becomes an empty read-only tmpfs, a file /dev/null.
void mask_path(const std::string& path, int status_fd) {
  struct stat st;
  if (::stat(path.c_str(), &st)) {
    if (errno == ENOENT) return;
    die(status_fd, kExitSetupFailed, sys_error("mask " + path));
  }
  int r = S_ISDIR(st.st_mode) ? ::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr)
                              : ::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
  if (r) die(status_fd, kExitSetupFailed, sys_error("mask " + path));
}

void setup_root(const Spec& spec, int status_fd) {
  // Nothing mounted below may propagate back to the agent's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
    die(status_fd, kExitSetupFailed, sys_error("make / private"));
  const std::string& root = spec.root;
  // pivot_root needs the new root to be a mount point.
  if (::mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr))
    die(status_fd, kExitSetupFailed, sys_error("bind mount " + root));
  bool dev_tmpfs = false;
  for (const MountSpec& m : spec.mounts) {
    mount_one(root, m, status_fd);
    if (m.destination == "/dev" && m.type == "tmpfs") dev_tmpfs = true;
  }
  if (dev_tmpfs) make_dev(root + "/dev", status_fd);
  if (::chdir(root.c_str())) die(status_fd, kExitSetupFailed, sys_error("chdir " + root));
  if (::syscall(SYS_pivot_root, ".", "."))
    die(status_fd, kExitSetupFailed, sys_error("pivot_root " + root));
  // The old root is stacked under the new one at "."; detach it.
  if (::umount2(".", MNT_DETACH)) die(status_fd, kExitSetupFailed, sys_error("unmount old root"));
  if (::chdir("/")) die(status_fd, kExitSetupFailed, sys_error("chdir /"));
  for (const std::string& path : spec.readonly_paths) readonly_path(path, status_fd);
  for (const std::string& path : spec.masked_paths) mask_path(path, status_fd);
  if (spec.readonly &&
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr))
    die(status_fd, kExitSetupFailed, sys_error("remount / read-only"));
}

// Pipes or /dev/null; a terminal comes later, from inside the container.
void setup_stdio(const Stdio& s, int status_fd) {
  if (s.tty) return;
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int fds[3] = {s.in, s.out, s.err};
  for (int i = 0; i < 3; ++i) {
    int from = fds[i] >= 0 ? fds[i] : null;
    if (from < 0 || ::dup2(from, i) < 0) die(status_fd, kExitSetupFailed, sys_error("set up stdio"));
  }
}

void send_fd(int sock, int fd) {
  char byte = 'T';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  if (::sendmsg(sock, &msg, 0) != 1) die(sock, kExitSetupFailed, sys_error("send the pty master"));
}

// Opens a pty in the (container's) /dev/pts, hands the master to the agent
// and makes the slave the process's terminal and stdio.
void setup_tty(const Stdio& s, int status_fd) {
  if (!s.tty) return;
  int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int unlock = 0;
  if (master < 0 || ::ioctl(master, TIOCSPTLCK, &unlock))
    die(status_fd, kExitSetupFailed, sys_error("open a pty in /dev/pts (is devpts mounted?)"));
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(status_fd, kExitSetupFailed, sys_error("open the pty's slave"));
  if (s.rows && s.cols) {
    winsize ws{};
    ws.ws_row = (unsigned short)s.rows;
    ws.ws_col = (unsigned short)s.cols;
    ::ioctl(master, TIOCSWINSZ, &ws);
  }
  send_fd(status_fd, master);
  ::close(master);
  if (::setsid() < 0 || ::ioctl(slave, TIOCSCTTY, 0))
    die(status_fd, kExitSetupFailed, sys_error("set the controlling terminal"));
  for (int i = 0; i < 3; ++i)
    if (::dup2(slave, i) < 0) die(status_fd, kExitSetupFailed, sys_error("set up the terminal"));
}

// Joins the container's cgroup; "0" is the writer itself.
void join_cgroup(int cgroup_procs, int status_fd) {
  if (cgroup_procs >= 0 && ::write(cgroup_procs, "0", 1) != 1)
    die(status_fd, kExitSetupFailed, sys_error("join the container's cgroup"));
}

void set_user(const ProcessSpec& p, int status_fd) {
  if (::setgroups(p.additional_gids.size(), p.additional_gids.data()))
    die(status_fd, kExitSetupFailed, sys_error("setgroups"));
  if (::setresgid(p.gid, p.gid, p.gid))
    die(status_fd, kExitSetupFailed, sys_error("setgid " + std::to_string(p.gid)));
  if (::setresuid(p.uid, p.uid, p.uid))
    die(status_fd, kExitSetupFailed, sys_error("setuid " + std::to_string(p.uid)));
}

// Limits and privileges, in the order that keeps each step allowed: rlimits
// and the bounding set while still root, then the user, then the sets that
// remain, and no_new_privs last.
void drop_privileges(const ProcessSpec& p, int status_fd) {
  std::string err;
  if (!apply_rlimits(p.rlimits, &err) || !drop_bounding(p.capabilities, &err))
    die(status_fd, kExitSetupFailed, err);
  set_user(p, status_fd);
  if (!apply_capabilities(p.capabilities, &err)) die(status_fd, kExitSetupFailed, err);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    die(status_fd, kExitSetupFailed, sys_error("prctl PR_SET_NO_NEW_PRIVS"));
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Finds args[0] the way docker does (Go's exec.LookPath over the config's
// PATH) and execs it, failing with docker's message and exit code.
[[noreturn]] void exec_process(const ProcessSpec& p, int status_fd) {
  if (::chdir(p.cwd.c_str()))
    die(status_fd, kExitSetupFailed,
        "chdir to cwd (\"" + p.cwd + "\") set in config.json failed: " + errno_text(errno));
  const std::string& name = p.args[0];
  std::string quoted = "exec: \"" + name + "\": ";
  std::string path;
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(name.c_str(), &st))
      die(status_fd, errno == ENOENT ? kExitNotFound : kExitCannotExecute,
          quoted + "stat " + name + ": " + errno_text(errno));
    if (S_ISDIR(st.st_mode)) die(status_fd, kExitCannotExecute, quoted + "is a directory");
    path = name;
  } else {
    std::string dirs = env_value(p.env, "PATH");
    for (size_t start = 0; start <= dirs.size() && path.empty();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string dir = dirs.substr(start, end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (is_executable_file(candidate)) path = candidate;
      start = end + 1;
    }
    if (path.empty()) die(status_fd, kExitNotFound, quoted + "executable file not found in $PATH");
  }
  std::vector<char*> argv, envp;
  for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  int e = errno;
  die(status_fd, e == ENOENT ? kExitNotFound : kExitCannotExecute, quoted + errno_text(e));
}

// The agent blocks SIGCHLD for its signalfd and ignores SIGPIPE; a process
// must start with neither.
void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
}

pid_t clone_child(int flags) {
  // Raw clone works like fork (the child continues here on a copy of the
  // stack) but can create namespaces the child itself is in, PID 1 of a new
  // pid namespace included. The agent is single-threaded, so no lock is held.
  return pid_t(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

// setns into a pid namespace moves only later children, so the agent steps
// in for the clone and back out: the process is its direct child and can be
// waited for like any other. pidns -1: the agent's own. In the agent, returns
// the child's pid (or -1 with errno); the child gets 0.
pid_t clone_in_pidns(int pidns, int flags, const std::string& what, std::string* err) {
  int own = -1;
  if (pidns >= 0) {
    own = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own < 0 || ::setns(pidns, CLONE_NEWPID)) {
      *err = sys_error("join the pid namespace " + what);
      if (own >= 0) ::close(own);
      return -1;
    }
  }
  pid_t pid = clone_child(flags);
  if (pid == 0) return 0;
  int clone_errno = errno;
  if (own >= 0) {
    // Cannot fail: the agent's own namespace is always allowed.
    ::setns(own, CLONE_NEWPID);
    ::close(own);
  }
  if (pid < 0) *err = sys_error("clone", clone_errno);
  return pid;
}

// The namespaces a process joins, opened by the agent (paths as it sees
// them) before the clone, so that a missing one fails the start at once.
class Joined {
 public:
  Joined() = default;
  Joined(const Joined&) = delete;
  Joined& operator=(const Joined&) = delete;
  ~Joined() {
    for (int fd : fds_) ::close(fd);
  }

  bool open(const std::vector<NamespaceJoin>& joins, std::string* err) {
    for (const NamespaceJoin& ns : joins) {
      int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        *err = sys_error("namespace " + ns.path);
        return false;
      }
      joins_.push_back(ns);
      fds_.push_back(fd);
    }
    return true;
  }
  int flags() const {
    int f = 0;
    for (const NamespaceJoin& ns : joins_) f |= ns.flag;
    return f;
  }
  // The pid namespace's fd and path: clone_in_pidns joins it for the clone.
  int pid_fd() const {
    for (size_t i = 0; i < fds_.size(); ++i)
      if (joins_[i].flag == CLONE_NEWPID) return fds_[i];
    return -1;
  }
  std::string pid_path() const {
    for (const NamespaceJoin& ns : joins_)
      if (ns.flag == CLONE_NEWPID) return ns.path;
    return "";
  }
  // In the child: all but the pid namespace, which clone_in_pidns joined.
  // setns checks that each is a namespace of its kind.
  void enter(int status_fd) const {
    for (size_t i = 0; i < fds_.size(); ++i)
      if (joins_[i].flag != CLONE_NEWPID && ::setns(fds_[i], joins_[i].flag))
        die(status_fd, kExitSetupFailed, sys_error("setns " + joins_[i].path));
  }

 private:
  std::vector<NamespaceJoin> joins_;
  std::vector<int> fds_;
};

bool make_status_pipe(int fds[2], std::string* err) {
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)) {
    *err = sys_error("socketpair");
    return false;
  }
  return true;
}

}  // namespace

bool spawn_container(const Spec& spec, const Stdio& stdio, int cgroup_procs, bool hold, Spawned* out,
                     std::string* err) {
  Joined joined;
  if (!joined.open(spec.joins, err)) return false;
  int status[2];
  if (!make_status_pipe(status, err)) return false;
  // A cgroup namespace is rooted at the cgroup its creator is in: the child
  // makes its own once it joined the container's.
  int create = spec.namespaces & ~joined.flags();
  pid_t pid = clone_in_pidns(joined.pid_fd(), create & ~CLONE_NEWCGROUP, joined.pid_path(), err);
  if (pid == 0) {
    ::close(status[0]);
    reset_signals();
    join_cgroup(cgroup_procs, status[1]);
    if (create & CLONE_NEWCGROUP && ::unshare(CLONE_NEWCGROUP))
      die(status[1], kExitSetupFailed, sys_error("unshare the cgroup namespace"));
    // Before the mounts: mqueue, sysfs and cgroup2 show the namespaces of the one who mounts them.
    joined.enter(status[1]);
    setup_stdio(stdio, status[1]);
    setup_root(spec, status[1]);
    setup_tty(stdio, status[1]);
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()))
      die(status[1], kExitSetupFailed, sys_error("sethostname"));
    if (hold) {
      // EOF on the status socket reads as a successful exec. As its pid
      // namespace's init it would ignore a SIGTERM without a handler: a
      // shutdown's SIGTERM ends it at once.
      ::signal(SIGTERM, [](int) { ::_exit(0); });
      ::close(status[1]);
      for (;;) ::pause();
    }
    drop_privileges(spec.process, status[1]);
    exec_process(spec.process, status[1]);
  }
  ::close(status[1]);
  if (pid < 0) {
    ::close(status[0]);
    return false;
  }
  *out = {pid, status[0]};
  return true;
}

bool spawn_exec(pid_t init_pid, int namespaces, const ProcessSpec& process, const Stdio& stdio,
                int cgroup_procs, Spawned* out, std::string* err) {
  struct Ns {
    int flag;
    const char* name;
  };
  // The mount namespace last: after it, /proc is the container's.
  static constexpr Ns kOrder[] = {{CLONE_NEWIPC, "ipc"}, {CLONE_NEWUTS, "uts"},
                                  {CLONE_NEWNET, "net"}, {CLONE_NEWCGROUP, "cgroup"},
                                  {CLONE_NEWNS, "mnt"},  {CLONE_NEWPID, "pid"}};
  std::string proc = "/proc/" + std::to_string(init_pid) + "/ns/";
  std::vector<NamespaceJoin> joins;
  for (const Ns& ns : kOrder)
    if (namespaces & ns.flag) joins.push_back({ns.flag, proc + ns.name});
  Joined joined;
  if (!joined.open(joins, err)) return false;
  int status[2];
  if (!make_status_pipe(status, err)) return false;
  pid_t pid = clone_in_pidns(joined.pid_fd(), 0, joined.pid_path(), err);
  if (pid == 0) {
    ::close(status[0]);
    reset_signals();
    join_cgroup(cgroup_procs, status[1]);
    setup_stdio(stdio, status[1]);
    joined.enter(status[1]);
    setup_tty(stdio, status[1]);
    drop_privileges(process, status[1]);
    exec_process(process, status[1]);
  }
  ::close(status[1]);
  if (pid < 0) {
    ::close(status[0]);
    return false;
  }
  *out = {pid, status[0]};
  return true;
}

ssize_t read_status(int status_fd, std::string* data, int* fd) {
  char buf[4096];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(status_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0) return n;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      std::memcpy(fd, CMSG_DATA(cm), sizeof(int));
  if (*fd < 0) data->append(buf, size_t(n));
  return n;
}

bool parse_status_report(const std::string& report, int* code, std::string* message) {
  size_t space = report.find(' ');
  if (space == std::string::npos || space == 0) return false;
  *code = std::atoi(report.substr(0, space).c_str());
  *message = report.substr(space + 1);
  return *code > 0;
}

int exit_code_of(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace ctk::init
