// Docker credential helpers: `docker-credential-NAME ACTION` found on PATH,
// the request on its stdin (a server URL, or for `store` a JSON object), the
// answer (JSON for `get`) or an error message on its stdout.
#pragma once

#include <string>

namespace ctk::oci {

// Runs the helper and fills `output` with what it printed. A helper that
// answers "credentials not found" sets *not_found and is no error; any other
// failure (missing helper, non-zero exit) is, with the helper's message.
bool run_credential_helper(const std::string& name, const std::string& action, const std::string& input,
                           std::string* output, bool* not_found, std::string* err);

}  // namespace ctk::oci
