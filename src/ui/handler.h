// The web UI's listener (`ctk serve --ui`): every request passes the gate
// (gate.h) first; then the page's files (assets.h) and, for everything
// else, the Docker API as the API's listeners serve it (api::dispatch).
#pragma once

#include "api/server_state.h"
#include "http/connection.h"
#include "http/request.h"
#include "ui/gate.h"

namespace ctk::ui {

void dispatch(http::Connection& conn, const http::Request& req, const Gate& gate, api::ServerState& state);

}  // namespace ctk::ui
