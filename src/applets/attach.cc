// ctk attach: attach to a running container's main process.
#include <memory>

#include "applets/applet.h"
#include "applets/container_common.h"
#include "applets/image_common.h"
#include "container/attach.h"
#include "container/guest_setup.h"
#include "container/lifecycle.h"

namespace ctk {

extern const Applet kAttachApplet;

namespace {

const Option kOptions[] = {
    {"no-stdin", 0, "", "Do not attach stdin"},
    {"sig-proxy", 0, "BOOL", "Forward signals to the process (default: true)"},
    kDetachKeysOption,
    kRootOption,
};

int attach_main(const Flags& flags) {
  const Applet& self = kAttachApplet;
  if (flags.positional().size() != 1) return fail(self, "want one CONTAINER"), kExitUsage;
  std::string detach_keys, why;
  if (!detach_keys_flag(flags, &detach_keys, &why)) return fail(self, why), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, flags.positional()[0], &ct, &err) ||
      !container::connect(*ct, &conn, &err))
    return container_fail(self, err);
  container::AttachedProcess p = container::main_attachment(ct->spec, !flags.has("no-stdin"));
  p.proxy_signals = flags.get("sig-proxy", "true") != "false";
  p.detach_keys = std::move(detach_keys);
  nlohmann::json a = container::attach_request(p, &conn);
  nlohmann::json ignored;
  if (!conn.call("attach", a, &ignored, &why)) return fail(self, why);
  p.wait_id = conn.request("wait", nlohmann::json::object());
  container::RelayEnd end;
  if (!container::attach(conn, p, &end, &why)) return fail(self, why);
  // docker attach says so and fails (run -it and start -ai detach with 0).
  if (end.detached) return fail(self, "read escape sequence"), 1;
  return end.exit_code;
}

}  // namespace

extern const Applet kAttachApplet = {
    .name = "attach",
    .synopsis = "[OPTIONS] CONTAINER",
    .summary = "Attach to a running container's main process",
    .description = "Its output from now on (see ctk logs for what came before) and, when it was\n"
                   "created with -i, stdin. Ends with the process; the exit code is its. With a\n"
                   "tty, the detach keys (--detach-keys) end the attach and leave the process\n"
                   "running: ctk attach then says \"read escape sequence\" and exits 1.",
    .options = kOptions,
    .run = attach_main,
};

}  // namespace ctk
