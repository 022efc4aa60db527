// The web dashboard's files (src/tap/dashboard/), compiled into lmesh-tap by
// dashboard/embed.py: the page at "/", its script and style beside it.
#pragma once

#include <optional>
#include <string_view>

namespace lmesh::tap {

struct DashboardAsset {
  std::string_view content_type;
  std::string_view body;
};

// The file served at `path` ("/", "/index.html", "/dashboard.js", "/dashboard.css"), if any.
std::optional<DashboardAsset> dashboard_asset(std::string_view path);

}  // namespace lmesh::tap
