#include "init/worker.h"

#include <fcntl.h>
#include <linux/sched.h>  // clone_args, CLONE_INTO_CGROUP
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file_io.h"

namespace ctk::init {

bool spawn_worker(const std::string& cgroup_dir, WorkerPipe pipe, int fd,
                  const std::function<bool(std::string* err)>& work, Worker* out, std::string* err) {
  UniqueFd cgroup(cgroup_dir.empty() ? -1 : ::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int data[2], report[2];
  if (!cgroup_dir.empty() && cgroup.get() < 0) {
    *err = sys_error(cgroup_dir);
    return false;
  }
  if (::pipe2(data, O_CLOEXEC) != 0) {
    *err = sys_error("pipe");
    return false;
  }
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *err = sys_error("pipe");
    ::close(data[0]);
    ::close(data[1]);
    return false;
  }
  bool in = pipe == WorkerPipe::kIn;
  int child_data = in ? data[0] : data[1], agent_data = in ? data[1] : data[0];
  clone_args args{};
  args.flags = cgroup_dir.empty() ? 0 : CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = uint64_t(cgroup.get());
  pid_t pid = pid_t(::syscall(SYS_clone3, &args, sizeof args));
  if (pid == 0) {
    // Above 2 first, so that no dup2 below overwrites an fd still to be moved.
    int fds[3] = {in ? child_data : fd, in ? fd : child_data, report[1]};
    for (int& f : fds)
      if ((f = ::fcntl(f, F_DUPFD, 3)) < 0) ::_exit(1);
    for (int i = 0; i < 3; ++i)
      if (::dup2(fds[i], i) < 0) ::_exit(1);
    ::close_range(3, ~0u, 0);
    std::string why;
    if (work(&why)) ::_exit(0);
    (void)!::write(2, why.data(), why.size());
    ::_exit(1);
  }
  int clone_errno = errno;
  ::close(child_data);
  ::close(report[1]);
  if (pid < 0) {
    ::close(agent_data);
    ::close(report[0]);
    *err = sys_error(cgroup_dir.empty() ? "clone3" : "clone3 into " + cgroup_dir, clone_errno);
    return false;
  }
  ::fcntl(agent_data, F_SETFL, O_NONBLOCK);
  ::fcntl(report[0], F_SETFL, O_NONBLOCK);
  *out = {pid, agent_data, report[0]};
  return true;
}

bool worker_succeeded(int wait_status, int report, const std::string& what, std::string* err) {
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return true;
  if (WIFSIGNALED(wait_status)) {
    *err = what + ": killed by signal " + std::to_string(WTERMSIG(wait_status));
    return false;
  }
  char buf[4096];
  ssize_t n = ::read(report, buf, sizeof buf);
  *err = n > 0 ? std::string(buf, size_t(n)) : what + ": failed without saying why";
  return false;
}

bool copy_stdin_to_stdout(const std::string& path, std::string* err) {
  char buf[64 * 1024];
  for (ssize_t n; (n = ::read(0, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = sys_error("read " + path);
      return false;
    }
    if (!write_all(1, buf, size_t(n), "write " + path, err)) return false;
  }
  return true;
}

}  // namespace ctk::init
