#include "oci/cred_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/error.h"

extern char** environ;

namespace ctk::oci {

namespace {

constexpr size_t kMaxOutput = 1 << 20;

// The helpers' own wording (docker-credential-helpers' ErrCredentialsNotFound).
bool says_not_found(const std::string& text) {
  return text.find("credentials not found") != std::string::npos;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Writes the request without dying of SIGPIPE when the helper exits unread:
// the signal is blocked in this thread and a pending one discarded.
bool write_request(int fd, const std::string& input, const std::string& what, std::string* err) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t off = 0;
  bool ok = true;
  while (off < input.size()) {
    ssize_t n = ::write(fd, input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ok = errno == EPIPE;  // the helper did not want it; its exit status tells
      if (!ok) *err = sys_error(what);
      break;
    }
    off += size_t(n);
  }
  timespec zero{};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

// Reads stdout and stderr to their ends (both, so neither pipe fills up).
bool read_both(int out_fd, int err_fd, std::string* out, std::string* errors, const std::string& what,
               std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* dest[2] = {out, errors};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      *err = sys_error(what);
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else if (dest[i]->size() < kMaxOutput) {
        dest[i]->append(buf, size_t(n));
      }
    }
  }
  return true;
}

}  // namespace

bool run_credential_helper(const std::string& name, const std::string& action, const std::string& input,
                           std::string* output, bool* not_found, std::string* err) {
  *not_found = false;
  output->clear();
  const std::string program = "docker-credential-" + name;
  const std::string what = program + " " + action;
  // Three pipes: the helper's stdin, stdout and stderr.
  int in[2], out[2], errp[2];
  int* pipes[] = {in, out, errp};
  for (int i = 0; i < 3; ++i) {
    if (::pipe2(pipes[i], O_CLOEXEC) == 0) continue;
    *err = sys_error(what);
    for (int j = 0; j < i; ++j) ::close(pipes[j][0]), ::close(pipes[j][1]);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, errp[1], 2);
  std::string action_arg = action;
  char* argv[] = {const_cast<char*>(program.c_str()), action_arg.data(), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : {in[0], out[1], errp[1]}) ::close(fd);
  if (rc != 0) {
    for (int fd : {in[1], out[0], errp[0]}) ::close(fd);
    *err = rc == ENOENT ? program + ": not found on PATH" : sys_error(what, rc);
    return false;
  }
  std::string errors;
  bool ok = write_request(in[1], input, what, err);
  ::close(in[1]);
  ok = read_both(out[0], errp[0], output, &errors, what, err) && ok;
  ::close(out[0]);
  ::close(errp[0]);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!ok) return false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  std::string message = trimmed(output->empty() ? errors : *output);
  if (says_not_found(message)) {
    *not_found = true;
    return true;
  }
  *err = what + ": " +
         (message.empty() ? (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                               : std::string("killed by signal ") + strsignal(WTERMSIG(status)))
                          : message);
  return false;
}

}  // namespace ctk::oci
