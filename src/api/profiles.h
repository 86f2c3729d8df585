// ctk's sandbox profiles (profile/) through the Docker API: create's
// ?profile=NAME puts a profile's settings under the request's, as `ctk run
// --profile` puts them under the command line's. Each setting becomes the
// create body's field for its flag, as the docker CLI would send the flag,
// set only where the body leaves it unset (repeatable ones go first).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "profile/profile.h"

namespace ctk::api {

// body: POST /containers/create's JSON, edited in place; a field of the wrong
// type is left for create_options_from_docker to report. *timeout gets the
// profile's run time limit (no docker field has it), 0 for none.
bool apply_profile(const profile::Profile& p, nlohmann::json* body, uint64_t* timeout, Error* err);

}  // namespace ctk::api
