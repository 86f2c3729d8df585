// docker's container create body (Config + HostConfig + NetworkingConfig)
// as ctk's CreateOptions, every field type-checked: a wrong type or a
// setting ctk cannot honour is an invalid error naming the field, never a
// silently different container.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "container/create.h"

namespace ctk::api {

// body: POST /containers/create's JSON; name: its ?name=. The image must be
// a reference (not pulled here: the caller answers 404 for a missing one).
bool create_options_from_docker(const nlohmann::json& body, const std::string& name, container::CreateOptions* out,
                                Error* err);

}  // namespace ctk::api
