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
    kRootOption,
};

int attach_main(const Flags& flags) {
  const Applet& self = kAttachApplet;
  if (flags.positional().size() != 1) return fail(self, "want one CONTAINER"), kExitUsage;
  Error err;
  container::Containers all;
  std::unique_ptr<container::Container> ct;
  proto::Client conn;
  if (!open_containers(flags, &all, &err) || !find_container(all, flags.positional()[0], &ct, &err) ||
      !container::connect(*ct, &conn, &err))
    return container_fail(self, err);
  container::AttachedProcess p = container::main_attachment(ct->spec, !flags.has("no-stdin"));
  p.proxy_signals = flags.get("sig-proxy", "true") != "false";
  nlohmann::json a = container::attach_request(p, &conn);
  nlohmann::json ignored;
  std::string why;
  if (!conn.call("attach", a, &ignored, &why)) return fail(self, why);
  p.wait_id = conn.request("wait", nlohmann::json::object());
  int code;
  if (!container::attach(conn, p, &code, &why)) return fail(self, why);
  return code;
}

}  // namespace

extern const Applet kAttachApplet = {
    .name = "attach",
    .synopsis = "[OPTIONS] CONTAINER",
    .summary = "Attach to a running container's main process",
    .description = "Its output from now on (see ctk logs for what came before) and, when it was\n"
                   "created with -i, stdin. Ends with the process; the exit code is its.",
    .options = kOptions,
    .run = attach_main,
};

}  // namespace ctk
