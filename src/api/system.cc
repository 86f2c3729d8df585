// /_ping, /version, /info: what clients ask before anything else (the docker
// CLI reads the Api-Version header of its first ping and speaks that).
#include <sys/utsname.h>
#include <unistd.h>

#include <thread>

#include "api/handlers.h"
#include "api/server_state.h"
#include "container/state.h"
#include "oci/images.h"
#include "oci/store.h"

namespace ctk::api {

using nlohmann::json;

namespace {

std::string docker_arch() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  return m;
}

std::string kernel_version() {
  utsname u{};
  ::uname(&u);
  return u.release;
}

}  // namespace

void system_ping(Context& c) {
  c.conn.respond(200,
                 {{"Content-Type", "text/plain; charset=utf-8"},
                  {"Api-Version", std::string(kApiVersion)},
                  {"Docker-Experimental", "false"},
                  {"Ostype", "linux"},
                  {"Cache-Control", "no-cache, no-store, must-revalidate"},
                  {"Pragma", "no-cache"}},
                 "OK");
}

void system_version(Context& c) {
  json engine = {{"Name", "Engine"},
                 {"Version", CTK_VERSION},
                 {"Details",
                  {{"ApiVersion", kApiVersion},
                   {"MinAPIVersion", kMinApiVersion},
                   {"Os", "linux"},
                   {"Arch", docker_arch()},
                   {"KernelVersion", kernel_version()},
                   {"Experimental", "false"}}}};
  c.reply_json(200, {{"Platform", {{"Name", "ctk"}}},
                     {"Components", json::array({engine})},
                     {"Version", CTK_VERSION},
                     {"ApiVersion", kApiVersion},
                     {"MinAPIVersion", kMinApiVersion},
                     {"GitCommit", ""},
                     {"GoVersion", ""},
                     {"Os", "linux"},
                     {"Arch", docker_arch()},
                     {"KernelVersion", kernel_version()},
                     {"BuildTime", ""}});
}

void system_info(Context& c) {
  container::Containers all;
  Error err;
  int running = 0, paused = 0, stopped = 0;
  std::vector<std::string> ids;
  if (all.open(c.server.data_root(), &err) && all.list(&ids, &err)) {
    for (const std::string& id : ids) {
      container::Container ct(all, id);
      Error ignored;
      if (!ct.load(&ignored)) continue;
      container::Status s = ct.effective_state().status;
      if (s == container::Status::running || s == container::Status::restarting) ++running;
      else ++stopped;
    }
  }
  // Images, not their names: one image tagged twice counts once.
  size_t images = 0;
  oci::Store store;
  std::string why;
  std::vector<oci::StoredImage> stored;
  if (store.open(c.server.data_root(), &why) && oci::list_images(store, &stored, &why)) images = stored.size();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  utsname u{};
  ::uname(&u);
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  c.reply_json(200, {{"ID", ""},
                     {"Containers", ids.size()},
                     {"ContainersRunning", running},
                     {"ContainersPaused", paused},
                     {"ContainersStopped", stopped},
                     {"Images", images},
                     {"Driver", "ctk-ext4"},
                     {"DriverStatus", json::array()},
                     {"Plugins", {{"Volume", {"local"}}, {"Network", {"bridge"}}, {"Authorization", nullptr}, {"Log", {"ctk"}}}},
                     {"MemoryLimit", true},
                     {"SwapLimit", false},
                     {"CpuCfsPeriod", true},
                     {"CpuCfsQuota", true},
                     {"PidsLimit", true},
                     {"IPv4Forwarding", true},
                     {"Debug", false},
                     {"NFd", 0},
                     {"NGoroutines", 0},
                     {"SystemTime", ""},
                     {"LoggingDriver", "ctk"},
                     {"CgroupDriver", "none"},
                     {"CgroupVersion", "2"},
                     {"NEventsListener", 0},
                     {"KernelVersion", u.release},
                     {"OperatingSystem", "ctk (one VM per container)"},
                     {"OSVersion", CTK_VERSION},
                     {"OSType", "linux"},
                     {"Architecture", u.machine},
                     {"NCPU", std::thread::hardware_concurrency()},
                     {"MemTotal", int64_t(pages) * page},
                     {"IndexServerAddress", "https://index.docker.io/v1/"},
                     {"RegistryConfig", {{"IndexConfigs", json::object()}, {"InsecureRegistryCIDRs", {"127.0.0.0/8"}}, {"Mirrors", json::array()}}},
                     {"DockerRootDir", c.server.data_root()},
                     {"HttpProxy", ""},
                     {"HttpsProxy", ""},
                     {"NoProxy", ""},
                     {"Name", host},
                     {"Labels", json::array()},
                     {"ExperimentalBuild", false},
                     {"ServerVersion", CTK_VERSION},
                     {"Runtimes", {{"ctk", {{"path", "ctk"}}}}},
                     {"DefaultRuntime", "ctk"},
                     {"Swarm", {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false}, {"Error", ""}, {"RemoteManagers", nullptr}}},
                     {"LiveRestoreEnabled", true},
                     {"Isolation", ""},
                     {"InitBinary", ""},
                     {"SecurityOptions", json::array()},
                     {"Warnings", json::array()}});
}

void not_implemented(Context& c) {
  std::string what = c.req.path;
  if (what.find("/build") != std::string::npos)
    return c.reply_error(501, "ctk does not build images (docker build): build them elsewhere and pull or load them");
  if (what.find("/swarm") != std::string::npos || what.find("/services") != std::string::npos ||
      what.find("/nodes") != std::string::npos || what.find("/tasks") != std::string::npos ||
      what.find("/secrets") != std::string::npos || what.find("/configs") != std::string::npos)
    return c.reply_error(501, "ctk has no swarm mode");
  if (what.find("/plugins") != std::string::npos) return c.reply_error(501, "ctk has no plugins");
  c.reply_error(501, "not implemented by ctk: " + c.req.method + " " + what);
}

void swarm_leave(Context& c) { c.reply_error(503, "This node is not part of a swarm"); }

}  // namespace ctk::api
