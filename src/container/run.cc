#include "container/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "base/dirs.h"
#include "base/error.h"
#include "base/sha256.h"
#include "ext4/format.h"
#include "oci/image.h"
#include "oci/pull.h"
#include "oci/reference.h"
#include "oci/rootfs.h"
#include "oci/store.h"

namespace ctk::container {

namespace {

using nlohmann::json;

// Where the agent assembles the container's root from the read-only image
// (/dev/vda) and a tmpfs upper layer that dies with the VM.
constexpr const char* kLower = "/run/ctk/lower";
constexpr const char* kScratch = "/run/ctk/rw";
constexpr const char* kRoot = "/run/ctk/rootfs";

bool read_head(const std::string& path, size_t len, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->assign(len, '\0');
  ssize_t n = ::pread(fd, out->data(), len, 0);
  ::close(fd);
  out->resize(n > 0 ? size_t(n) : 0);
  return true;
}

bool is_regular(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_ext4(const std::string& path) {
  std::string head;
  if (!read_head(path, ext4::kSuperOffset + 0x3a, &head) || head.size() < ext4::kSuperOffset + 0x3a)
    return false;
  return uint8_t(head[ext4::kSuperOffset + 0x38]) == 0x53 && uint8_t(head[ext4::kSuperOffset + 0x39]) == 0xEF;
}

// A tar, or one of the compressions layers come in; decided from content.
bool is_archive(const std::string& path) {
  std::string h;
  if (!read_head(path, 512, &h) || h.size() < 6) return false;
  auto starts = [&](std::string_view magic) { return std::string_view(h).starts_with(magic); };
  return starts("\x1f\x8b") || starts("\x28\xb5\x2f\xfd") || starts("\xfd" "7zXZ") ||
         starts("BZh") || starts("\x04\x22\x4d\x18") ||
         (h.size() >= 262 && h.compare(257, 5, "ustar") == 0);
}

// The ext4 image of `layers` in the cache under `key`, built when missing.
bool build_cached(const std::vector<std::string>& layers, const std::string& key, std::string* path,
                  std::string* err) {
  std::string dir;
  if (!cache_dir("rootfs", &dir, err)) return false;
  *path = dir + "/" + key + ".ext4";
  if (is_regular(*path)) return true;
  oci::RootfsRequest req;
  req.inputs = layers;
  req.output = *path;
  Timings ignored;
  oci::RootfsResult result;
  return oci::build_rootfs(req, ignored, &result, err);
}

// Layers become an ext4 image once; the cache key is the layers' identity
// (file_identity), so an edited layer is rebuilt.
bool cached_rootfs(const std::vector<std::string>& layers, std::string* path, std::string* err) {
  Sha256 key;
  for (const std::string& l : layers) {
    std::string id;
    if (!file_identity(l, &id, err)) return false;
    key.update(id.data(), id.size());
  }
  Digest d = key.finish();
  return build_cached(layers, to_hex(std::span(d).first(16)), path, err);
}

json container_config(const RunOptions& o, unsigned rows, unsigned cols) {
  // docker's default capabilities for a container's root.
  static const char* const kCapabilities[] = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
      "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  json caps = kCapabilities;
  json process = {{"terminal", o.tty},
                  {"args", o.args},
                  {"env", o.env},
                  {"cwd", o.workdir},
                  {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}}};
  // A name is resolved by the agent from the image's /etc/passwd and /etc/group.
  if (!o.user.empty()) process["user"] = o.user;
  if (o.tty && rows && cols) process["consoleSize"] = {{"height", rows}, {"width", cols}};
  json mounts = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      // Its own cgroup (the cgroup namespace's root), where it sees its limits.
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup2"}, {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
  // The VM is the isolation boundary for the network: the container shares
  // the VM's interfaces (none, or the NAT link).
  json namespaces = json::array(
      {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}, {{"type", "cgroup"}}});
  json resources = json::object();
  if (o.memory_limit) resources["memory"] = {{"limit", o.memory_limit}};
  if (o.cpus > 0) resources["cpu"] = {{"quota", int64_t(o.cpus * 100000)}, {"period", 100000}};
  if (o.pids_limit) resources["pids"] = {{"limit", o.pids_limit}};
  // docker's defaults: kernel interfaces a container has no business with.
  json masked = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                 "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                 "/sys/firmware", "/sys/devices/virtual/powercap"};
  json readonly = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  json config = {{"ociVersion", "1.0.2"},
                 {"process", process},
                 {"root", {{"path", kRoot}, {"readonly", false}}},
                 {"mounts", mounts},
                 {"linux", {{"namespaces", namespaces}, {"resources", resources},
                            {"maskedPaths", masked}, {"readonlyPaths", readonly}}}};
  if (!o.hostname.empty()) config["hostname"] = o.hostname;
  return config;
}

// Puts the host terminal in raw mode for -t, restoring it on destruction.
class RawTerminal {
 public:
  bool enable(int fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return false;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    fd_ = fd;
    return ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_ = -1;
  termios saved_{};
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// docker's exit codes for a process that never ran.
int exit_code_for(const std::string& code) {
  if (code == "not_found") return 127;
  if (code == "invalid_argument") return 126;
  return kExitRunFailed;
}

// The store's image: its layers built into a cached ext4 image (keyed by the
// manifest digest) and its config's process defaults. Pulled when missing.
bool image_rootfs(const std::string& name, const std::string& platform, std::string* rootfs, json* config,
                  std::string* err) {
  oci::Store store;
  if (!store.open(oci::Store::default_root(), err)) return false;
  std::vector<std::string> layers;
  std::string manifest_digest;
  std::string why;
  if (!oci::image_layers(store, name, &layers, &manifest_digest, &why)) {
    oci::Reference ref;
    if (!oci::parse_reference(name, &ref, err)) return false;
    oci::PullOptions options;
    if (!platform.empty() && !oci::parse_platform(platform, &options.platform, err)) return false;
    options.progress = oci::Progress::kLines;
    oci::PullResult pulled;
    if (!oci::pull_image(store, ref, options, &pulled, err)) return false;
    if (!oci::image_layers(store, name, &layers, &manifest_digest, err)) return false;
  }
  oci::Descriptor image;
  oci::ImageManifest manifest;
  std::string text;
  if (!store.resolve(name, &image, err) || !oci::load_image(store, image, &manifest, err) ||
      !store.read_blob(manifest.config.digest, &text, err))
    return false;
  json parsed = json::parse(text, nullptr, false);
  *config = parsed.is_object() ? parsed.value("config", json::object()) : json::object();
  if (config->is_null()) *config = json::object();

  return build_cached(layers, manifest_digest.substr(manifest_digest.find(':') + 1, 32), rootfs, err);
}

// docker's rules: --entrypoint replaces the image's Entrypoint (and drops
// its Cmd); arguments replace Cmd; -e adds to or overrides the image's Env.
bool apply_image_config(const json& image, RunOptions* o, std::string* err) {
  auto strings = [](const json& j) {
    std::vector<std::string> v;
    if (j.is_array())
      for (const json& s : j)
        if (s.is_string()) v.push_back(s.get<std::string>());
    return v;
  };
  std::vector<std::string> entrypoint = o->entrypoint.empty() ? strings(image.value("Entrypoint", json()))
                                                              : std::vector<std::string>{o->entrypoint};
  std::vector<std::string> cmd = !o->args.empty() || !o->entrypoint.empty() ? o->args
                                                                             : strings(image.value("Cmd", json()));
  entrypoint.insert(entrypoint.end(), cmd.begin(), cmd.end());
  if (entrypoint.empty()) {
    *err = "no command given and the image has none";
    return false;
  }
  o->args = entrypoint;
  std::vector<std::string> env = strings(image.value("Env", json()));
  for (const std::string& e : o->env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    env.push_back(e);
  }
  o->env = env;
  if (o->workdir.empty()) o->workdir = image.value("WorkingDir", "");
  if (o->user.empty()) o->user = image.value("User", "");
  return true;
}

}  // namespace

bool split_inputs(const std::vector<std::string>& positional, std::vector<std::string>* inputs,
                  bool* image, std::vector<std::string>* command, std::string* err) {
  size_t i = 0;
  *image = false;
  if (!positional.empty() && ::access(positional[0].c_str(), F_OK) != 0) {
    inputs->push_back(positional[0]);
    *image = true;
    i = 1;
  } else if (!positional.empty() && is_regular(positional[0]) && is_ext4(positional[0])) {
    inputs->push_back(positional[0]);
    i = 1;
  } else {
    while (i < positional.size() && is_regular(positional[i]) && is_archive(positional[i]))
      inputs->push_back(positional[i++]);
  }
  if (inputs->empty()) {
    *err = positional.empty() ? "no image, layer or root filesystem given"
                              : "'" + positional[0] + "' is neither an ext4 image nor a layer archive";
    return false;
  }
  command->assign(positional.begin() + ptrdiff_t(i), positional.end());
  return true;
}

bool run(const RunOptions& options, Timings& timings, int* exit_code, std::string* err) {
  *exit_code = kExitRunFailed;
  RunOptions o = options;
  vz::MachineConfig machine = o.machine;
  {
    Timer t(timings, "image and rootfs");
    std::string rootfs = o.inputs[0];
    json image_config = json::object();
    if (o.image) {
      std::string platform = o.machine.arch == "aarch64" ? "linux/arm64" : o.machine.arch == "x86_64" ? "linux/amd64" : "";
      if (!image_rootfs(o.inputs[0], platform, &rootfs, &image_config, err)) return false;
    } else if (!is_ext4(rootfs) && !cached_rootfs(o.inputs, &rootfs, err)) {
      return false;
    }
    if (!apply_image_config(image_config, &o, err)) return false;
    if (o.workdir.empty()) o.workdir = "/";
    machine.disks = {{rootfs, true}};
  }
  vz::Machine vm;
  // However run ends, the VM ends with it, timed as the last phase.
  struct Teardown {
    vz::Machine& vm;
    Timings& timings;
    ~Teardown() {
      Timer t(timings, "teardown");
      vm.shutdown();
    }
  } teardown{vm, timings};
  if (!vm.boot(machine, timings, err)) return false;
  if (!vm.notice().empty()) std::fprintf(stderr, "ctk run: %s\n", vm.notice().c_str());
  proto::Client& agent = vm.agent();

  unsigned rows = 0, cols = 0;
  winsize ws{};
  if (o.tty && ::ioctl(0, TIOCGWINSZ, &ws) == 0) rows = ws.ws_row, cols = ws.ws_col;

  uint32_t out_ch, err_ch = 0, in_ch = 0;
  int64_t wait_id;
  {
    Timer t(timings, "container start");
    // One round trip for the whole setup: each call costs a guest wake-up.
    std::vector<proto::Client::Call> setup = {
        vm.clock_call(),
        {"mount", {{"destination", kLower}, {"type", "ext4"}, {"source", "/dev/vda"}, {"options", {"ro"}}}},
        {"mount", {{"destination", kScratch}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"mode=0755"}}}},
        {"mkdir", {{"path", "/run/ctk/rw/upper"}}},
        {"mkdir", {{"path", "/run/ctk/rw/work"}}},
        {"mount", {{"destination", kRoot}, {"type", "overlay"}, {"source", "overlay"},
                   {"options", {std::string("lowerdir=") + kLower, "upperdir=/run/ctk/rw/upper",
                                "workdir=/run/ctk/rw/work"}}}}};
    // The container's /etc/hosts: localhost and its hostname, as docker writes one.
    json dns = {{"root", kRoot}, {"hosts", json::array()}};
    if (!o.hostname.empty()) dns["hostname"] = o.hostname;
    if (machine.network == vz::Network::nat) {
      // QEMU's user networking: the guest is 10.0.2.15, the host's loopback
      // is reachable as the gateway 10.0.2.2, its DNS forwarder is 10.0.2.3.
      setup.push_back({"network", {{"interface", "eth0"}, {"address", "10.0.2.15/24"}, {"gateway", "10.0.2.2"}}});
      dns["nameservers"] = {"10.0.2.3"};
    }
    setup.push_back({"dns", dns});

    out_ch = agent.open_channel();
    json create = {{"container", "main"}, {"config", container_config(o, rows, cols)}, {"stdout", out_ch}};
    if (o.tty) {
      in_ch = out_ch;  // the pty is one bidirectional channel
      create["stdin"] = out_ch;
    } else {
      err_ch = agent.open_channel();
      create["stderr"] = err_ch;
      if (o.interactive) {
        in_ch = agent.open_channel();
        create["stdin"] = in_ch;
      }
    }
    setup.push_back({"create", create});
    setup.push_back({"start", {{"container", "main"}}});
    std::string code;
    size_t failed = 0;
    std::vector<int64_t> ids = agent.request_all(setup);
    // The wait follows at once: a round trip less before the exit is seen.
    wait_id = agent.request("wait", {{"container", "main"}});
    if (!agent.await_all(ids, err, &code, &failed)) {
      // Only a process that never ran gets docker's 126/127.
      if (failed == setup.size() - 1) *exit_code = exit_code_for(code);
      return false;
    }
  }

  Timer t(timings, "process");
  RawTerminal raw;
  if (o.tty && o.interactive) raw.enable(0);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGQUIT}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  bool stdin_open = in_ch != 0 && o.interactive;
  proto::Mux& mux = agent.mux();
  char buf[64 * 1024];
  for (;;) {
    // Deliver what arrived: stdout and stderr to ours, in arrival order per stream.
    for (auto [ch, fd] : {std::pair{out_ch, 1}, std::pair{err_ch, 2}}) {
      if (!ch) continue;
      std::string_view data = mux.received(ch);
      if (!data.empty()) {
        write_all(fd, data);
        mux.consume(ch, data.size());
      }
    }
    json reply;
    if (agent.take_reply(wait_id, &reply)) {
      if (reply.contains("error")) {
        *err = reply["error"].value("message", "wait failed");
        return false;
      }
      const json& r = reply["result"];
      if (r.contains("message")) std::fprintf(stderr, "ctk run: %s\n", r["message"].get<std::string>().c_str());
      *exit_code = r.value("exit_code", kExitRunFailed);
      break;
    }
    pollfd fds[3] = {{agent.fd(), POLLIN, 0}, {sfd, POLLIN, 0}, {0, 0, 0}};
    nfds_t n = 2;
    if (stdin_open && mux.send_window(in_ch) > 0) fds[n++] = {0, POLLIN, 0};
    if (!agent.pump(0, err)) return false;  // flush what is queued first
    if (::poll(fds, n, -1) < 0 && errno != EINTR) {
      *err = sys_error("poll");
      return false;
    }
    if (fds[0].revents && !agent.pump(0, err)) return false;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          if (o.tty && ::ioctl(0, TIOCGWINSZ, &ws) == 0)
            agent.request("resize", {{"container", "main"}, {"rows", ws.ws_row}, {"cols", ws.ws_col}});
        } else {
          // docker's sig-proxy: the container's process gets the signal.
          agent.request("kill", {{"container", "main"}, {"signal", int(si.ssi_signo)}});
        }
      }
    }
    if (n == 3 && fds[2].revents) {
      size_t room = std::min(sizeof buf, mux.send_window(in_ch));
      ssize_t got = ::read(0, buf, room);
      if (got > 0) {
        mux.send(in_ch, buf, size_t(got));
      } else if (got == 0 || errno != EINTR) {
        stdin_open = false;
        mux.send_eof(in_ch);
      }
    }
  }
  ::close(sfd);
  return true;
}

}  // namespace ctk::container
