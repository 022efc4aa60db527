// What the commands say on stderr when lmesh-tap cannot be reached or refuses a request. Pure,
// so that the wording is tested without a server.
#pragma once

#include <string>
#include <string_view>

#include "common/net/socket_address.h"
#include "common/result.h"

namespace lmesh::cli {

// "cannot reach lmesh-tap at 127.0.0.1:8088: connection refused"
std::string unreachable_message(const net::HostPort& server, const Error& why);

// A non-200 answer: the `detail` of lmesh-tap's {"error","detail"} body (the 404's "no pods for
// deploy/web in namespace default"), else its `error`, else the status.
std::string refusal_message(const net::HostPort& server, int status, std::string_view body);

}  // namespace lmesh::cli
