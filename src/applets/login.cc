// ctk login: check credentials against a registry and store them.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "applets/applet.h"
#include "applets/image_common.h"
#include "oci/reference.h"

namespace ctk {

extern const Applet kLoginApplet;

namespace {

const Option kOptions[] = {
    {"username", 'u', "USER", "User name"},
    {"password", 'p', "PASSWORD", "Password (visible to other users in ps; prefer --password-stdin)"},
    {"password-stdin", 0, "", "Read the password from standard input"},
    kTlsVerifyOption,
    kCertDirOption,
    kPlainHttpOption,
    kAuthfileOption,
};

int login_main(const Flags& flags) {
  const Applet& self = kLoginApplet;
  std::string err, registry;
  if (flags.positional().size() > 1) return fail(self, "want at most one REGISTRY"), kExitUsage;
  if (!oci::parse_registry(flags.positional().empty() ? "docker.io" : flags.positional()[0], &registry, &err))
    return fail(self, err), kExitUsage;
  if (!flags.has("username")) return fail(self, "no --username given"), kExitUsage;
  oci::Credential cred{flags.get("username"), flags.get("password"), ""};
  if (flags.has("password-stdin")) {
    if (flags.has("password")) return fail(self, "--password and --password-stdin exclude each other"), kExitUsage;
    std::getline(std::cin, cred.password);
    if (!cred.password.empty() && cred.password.back() == '\r') cred.password.pop_back();
  } else if (!flags.has("password")) {
    return fail(self, "no password given (--password-stdin or --password)"), kExitUsage;
  }
  oci::RegistryOptions options;
  if (!registry_options(flags, &options, &err)) return fail(self, err), kExitUsage;
  options.credential = cred;
  oci::Registry client(registry, options);
  if (!client.init(&err) || !client.ping(&err)) return fail(self, err);
  std::string file = options.auth_file.empty() ? oci::docker_config_path() : options.auth_file;
  if (!oci::store_credential(file, registry, cred, &err)) return fail(self, err);
  std::printf("Login Succeeded\n");
  return 0;
}

}  // namespace

extern const Applet kLoginApplet = {
    .name = "login",
    .synopsis = "-u USER [--password-stdin | -p PASSWORD] [REGISTRY]",
    .summary = "Log in to a registry",
    .description = "Checks the credentials against REGISTRY (default: docker.io) and stores them where\n"
                   "docker does: in the credential helper ~/.docker/config.json names (credHelpers for\n"
                   "REGISTRY, else credsStore), else in the file itself (mode 0600).",
    .options = kOptions,
    .run = login_main,
};

}  // namespace ctk
